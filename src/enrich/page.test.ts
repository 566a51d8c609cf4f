import { describe, expect, it } from 'vitest'
import type { ValidationIssue } from '../schema/validation-issue.js'
import { createPageEnricher } from './page.js'

describe('createPageEnricher', () => {
  it('should fill path, host and search, read UTM and classify the referrer', () => {
    const enrich = createPageEnricher()
    const issues: ValidationIssue[] = []
    const sent = {
      url: 'https://Shop.example/p?utm_source=x&UTM_MEDIUM=cpc',
      referrer: 'https://www.bing.com/search?q=1',
    }
    const r = enrich(sent, { source: 'explicit' }, issues)
    expect(r.page).toEqual({
      ...sent,
      path: '/p',
      host: 'shop.example',
      search: '?utm_source=x&UTM_MEDIUM=cpc',
      referrerHost: 'www.bing.com',
      referrerType: 'search',
    })
    expect(r.campaign).toEqual({ source: 'explicit', medium: 'cpc' })
    expect(issues).toEqual([])
    // Cached the second time, same answer; the input is not changed.
    expect(enrich(sent, undefined, issues).campaign).toEqual({ source: 'x', medium: 'cpc' })
    expect(sent).not.toHaveProperty('path')
  })

  it('should read UTM from page.search when there is no usable URL, and note invalid URLs', () => {
    const enrich = createPageEnricher()
    const issues: ValidationIssue[] = []
    const r = enrich(
      { url: '/relative', search: '?utm_campaign=spring', referrer: '::nope' },
      undefined,
      issues,
    )
    expect(r.campaign).toEqual({ name: 'spring' })
    expect(r.page).toEqual({ url: '/relative', search: '?utm_campaign=spring', referrer: '::nope' })
    expect(issues.map((i) => i.path)).toEqual(['/context/page/url', '/context/page/referrer'])
  })

  it('should say direct without a referrer and internal for the same host', () => {
    const enrich = createPageEnricher()
    expect(enrich({ url: 'https://a.example/' }, undefined, []).page.referrerType).toBe('direct')
    expect(
      enrich({ url: 'https://a.example/', referrer: 'https://a.example/x' }, undefined, []).page.referrerType,
    ).toBe('internal')
  })
})
