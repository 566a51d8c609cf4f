import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** Where the PostgreSQL tests connect to create their databases. */
export const TEST_PG_URL = process.env.TALLY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** True when running in CI: an unreachable PostgreSQL fails the tests instead of skipping them. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1'

/** Resolves true when PostgreSQL answers at `TEST_PG_URL`. */
export async function isPostgresReachable(url = TEST_PG_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

async function admin<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** A throwaway database on the test server, so parallel test files never share state. */
export interface FreshDatabase {
  readonly name: string
  readonly url: string
  drop(): Promise<void>
}

/** Creates `tally_t_<random>` on the test server and returns its URL; `drop()` removes it. */
export async function createFreshPostgresDatabase(baseUrl = TEST_PG_URL): Promise<FreshDatabase> {
  const name = `tally_t_${randomBytes(6).toString('hex')}`
  await admin(baseUrl, (c) => c.query(`create database ${name}`))
  const u = new URL(baseUrl)
  u.pathname = `/${name}`
  return {
    name,
    url: u.toString(),
    async drop() {
      await admin(baseUrl, (c) => c.query(`drop database if exists ${name} with (force)`))
    },
  }
}
