import { describe, expect, it } from 'vitest'
import { loadConfig } from '../config/config.js'
import { parseQueueUrl, queueSettingsOf, resolveQueueSettings } from './queue-settings.js'

describe('parseQueueUrl', () => {
  it('should return one nats:// URL per comma-separated server, adding the scheme when missing', () => {
    expect(parseQueueUrl('nats://h1:4222, h2:4223,tls://u:p@h3:4222')).toEqual([
      'nats://h1:4222',
      'nats://h2:4223',
      'tls://u:p@h3:4222',
    ])
  })

  it('should throw config_invalid when an entry is not a NATS server URL', () => {
    for (const bad of ['', 'http://h1:4222', 'nats://h1:4222/path', ' , ']) {
      expect(() => parseQueueUrl(bad)).toThrow(expect.objectContaining({ code: 'config_invalid' }))
    }
  })
})

describe('resolveQueueSettings', () => {
  it('should use 3 replicas with three or more servers and 1 otherwise', () => {
    expect(resolveQueueSettings({ servers: ['nats://a:1', 'nats://b:1', 'nats://c:1'] }).replicas).toBe(3)
    expect(resolveQueueSettings({ servers: ['nats://a:1'] }).replicas).toBe(1)
  })

  it('should derive the subject prefix from the stream name unless one is given', () => {
    expect(resolveQueueSettings({ servers: ['nats://a:1'] }).subjectPrefix).toBe('tally')
    expect(resolveQueueSettings({ servers: ['nats://a:1'], stream: 'STAGING' }).subjectPrefix).toBe(
      'tally.STAGING',
    )
    expect(
      resolveQueueSettings({ servers: ['nats://a:1'], stream: 'STAGING', subjectPrefix: 'x' }).subjectPrefix,
    ).toBe('x')
  })

  it('should reject stream names NATS does not allow', () => {
    expect(() => resolveQueueSettings({ servers: ['nats://a:1'], stream: 'a.b' })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    )
  })
})

describe('queueSettingsOf', () => {
  it('should take servers, stream and replicas from the configuration (flags over env)', () => {
    const config = loadConfig(
      { TALLY_QUEUE_URL: 'nats://x:1', TALLY_QUEUE_STREAM: 'S1', TALLY_QUEUE_REPLICAS: '3' },
      { queue: 'nats://h1:4222,nats://h2:4222' },
    )
    const settings = queueSettingsOf(config)
    expect(settings).toMatchObject({
      servers: ['nats://h1:4222', 'nats://h2:4222'],
      stream: 'S1',
      replicas: 3,
    })
  })

  it('should fail at start when TALLY_QUEUE_URL is malformed', () => {
    expect(() => loadConfig({ TALLY_QUEUE_URL: 'http://nope' })).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    )
  })
})
