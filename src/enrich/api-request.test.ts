import { describe, expect, it } from 'vitest'
import { apiRequestName, normaliseRoute } from './api-request.js'

describe('normaliseRoute', () => {
  it('should strip query and fragment and trailing slashes but keep the root', () => {
    expect(normaliseRoute('/users/:id/?expand=1')).toBe('/users/:id')
    expect(normaliseRoute('/users/:id//')).toBe('/users/:id')
    expect(normaliseRoute('/a#frag')).toBe('/a')
    expect(normaliseRoute('/')).toBe('/')
    expect(normaliseRoute('/?x=1')).toBe('/')
    expect(normaliseRoute('?x=1')).toBe('/')
    const same = '/orders'
    expect(normaliseRoute(same)).toBe(same)
  })
})

describe('apiRequestName', () => {
  it('should be "METHOD route"', () => {
    expect(apiRequestName('GET', '/users/:id')).toBe('GET /users/:id')
  })
})
