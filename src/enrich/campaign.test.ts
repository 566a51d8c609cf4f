import { describe, expect, it } from 'vitest'
import { mergeCampaign, parseUtmParams } from './campaign.js'

describe('parseUtmParams', () => {
  it('should map the five UTM parameters, utm_campaign to name', () => {
    expect(
      parseUtmParams(
        '?utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=shoes&utm_content=hero&x=1',
      ),
    ).toEqual({ source: 'news', medium: 'email', name: 'spring', term: 'shoes', content: 'hero' })
  })

  it('should match keys in any case and keep the first of repeated parameters', () => {
    expect(parseUtmParams('?UTM_SOURCE=Google&Utm_Medium=cpc&utm_source=bing')).toEqual({
      source: 'Google',
      medium: 'cpc',
    })
  })

  it('should decode values, tolerate malformed escapes and skip empty values', () => {
    expect(parseUtmParams('?utm_campaign=summer+sale%21&utm_term=%E0%A4%A&utm_source=')).toEqual({
      name: 'summer sale!',
      term: '%E0%A4%A',
    })
  })

  it('should return null without UTM parameters and ignore prototype-named keys', () => {
    expect(parseUtmParams('?q=1')).toBeNull()
    expect(parseUtmParams('')).toBeNull()
    expect(parseUtmParams('?__proto__=1&constructor=2&utm_x=3')).toBeNull()
  })
})

describe('mergeCampaign', () => {
  it('should let explicit fields win and fill the rest from the URL', () => {
    expect(mergeCampaign({ source: 'explicit' }, { source: 'url', medium: 'cpc' })).toEqual({
      source: 'explicit',
      medium: 'cpc',
    })
    expect(mergeCampaign(undefined, null)).toBeNull()
    const explicit = { name: 'x' }
    expect(mergeCampaign(explicit, null)).toBe(explicit)
  })
})
