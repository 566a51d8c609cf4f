import { describe, expect, it } from 'vitest'
import { createUserAgentParser, parseUserAgent } from './user-agent.js'

const CHROME_WIN =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

describe('parseUserAgent', () => {
  it('should parse a desktop browser and default the device type to desktop', () => {
    expect(parseUserAgent(CHROME_WIN)).toEqual({
      data: {
        browser: { name: 'Chrome', version: '120.0.0.0', major: '120' },
        engine: { name: 'Blink', version: '120.0.0.0' },
        os: { name: 'Windows', version: '10' },
        device: { type: 'desktop' },
      },
      bot: false,
    })
  })

  it('should parse a phone with vendor and model', () => {
    const { data, bot } = parseUserAgent(IPHONE)
    expect(data.device).toEqual({ type: 'mobile', vendor: 'Apple', model: 'iPhone' })
    expect(data.os).toEqual({ name: 'iOS', version: '17.1' })
    expect(bot).toBe(false)
  })

  it('should flag crawlers and HTTP libraries as bots', () => {
    expect(parseUserAgent(GOOGLEBOT).bot).toBe(true)
    expect(parseUserAgent('curl/8.4.0').bot).toBe(true)
  })

  it('should not throw on garbage and return frozen data', () => {
    const r = parseUserAgent('\u0000%%%')
    expect(r.data.device.type).toBe('desktop')
    expect(Object.isFrozen(r.data.browser)).toBe(true)
  })
})

describe('createUserAgentParser', () => {
  it('should return the cached object for a repeated string and stay bounded', () => {
    const parse = createUserAgentParser(2)
    const a = parse(CHROME_WIN)
    expect(parse(CHROME_WIN)).toBe(a)
    parse(IPHONE)
    parse(GOOGLEBOT) // evicts the least recently used
    expect(parse(IPHONE)).toEqual(parseUserAgent(IPHONE))
  })
})
