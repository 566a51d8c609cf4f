import { useMemo, useState } from 'preact/hooks'
import { apiRequest, type Role } from '../api'
import { ErrorNote, JsonView, Loading, Panel } from '../components/bits'
import { DataTable } from '../components/data-table'
import { fmtTime } from '../format'
import { type Enforcement, EVENT_TYPES, type Project, type StoredSchema } from '../types'
import { useLoad } from '../use-load'

interface Entry {
  key: string
  eventType: string
  eventName: string
  versions: StoredSchema[]
}

const ENFORCEMENT: { mode: Enforcement; help: string }[] = [
  { mode: 'allow', help: 'store every valid event; the plan is not checked' },
  { mode: 'warn', help: 'store events that break the plan, with the violations' },
  { mode: 'block', help: 'reject events that break the plan (kept as failed events)' },
]

function EnforcementForm({ project, role, onSaved }: { project: Project; role: Role; onSaved: () => void }) {
  const [mode, setMode] = useState<Enforcement>(project.settings.enforcement)
  const [error, setError] = useState<Error>()
  const [saved, setSaved] = useState(false)
  const admin = role === 'admin'
  return (
    <form
      class="enforcement"
      onSubmit={async (e) => {
        e.preventDefault()
        setError(undefined)
        setSaved(false)
        try {
          await apiRequest('/api/v1/project/settings', { method: 'PATCH', body: { enforcement: mode } })
          setSaved(true)
          onSaved()
        } catch (err) {
          setError(err as Error)
        }
      }}
    >
      <fieldset disabled={!admin}>
        <legend>Enforcement mode{admin ? '' : ' (admin key needed to change)'}</legend>
        {ENFORCEMENT.map((o) => (
          <label key={o.mode} class="check">
            <input
              type="radio"
              name="enforcement"
              value={o.mode}
              checked={mode === o.mode}
              onChange={() => setMode(o.mode)}
            />
            <strong>{o.mode}</strong> — {o.help}
          </label>
        ))}
        {admin ? (
          <button type="submit" disabled={mode === project.settings.enforcement}>
            Save mode
          </button>
        ) : null}
      </fieldset>
      {saved ? <p role="status">Saved.</p> : null}
      <ErrorNote error={error} />
    </form>
  )
}

function NewVersionForm({ initial, onSaved }: { initial?: Entry; onSaved: () => void }) {
  const [type, setType] = useState(initial?.eventType ?? 'track')
  const [name, setName] = useState(initial?.eventName ?? '')
  // Suggest the next ADDITION of the latest version (1-0-0 → 1-0-1); SchemaVer must increase.
  const latest = initial?.versions[initial.versions.length - 1].version
  const [version, setVersion] = useState(() => {
    const m = latest?.match(/^(\d+)-(\d+)-(\d+)$/)
    return m ? `${m[1]}-${m[2]}-${Number(m[3]) + 1}` : '1-0-0'
  })
  const [schema, setSchema] = useState(
    initial
      ? JSON.stringify(initial.versions[initial.versions.length - 1].jsonSchema, null, 2)
      : '{\n  "type": "object"\n}',
  )
  const [error, setError] = useState<Error>()
  const [result, setResult] = useState<string>()
  return (
    <form
      class="schema-form"
      onSubmit={async (e) => {
        e.preventDefault()
        setError(undefined)
        setResult(undefined)
        let body: unknown
        try {
          body = JSON.parse(schema)
        } catch {
          setError(new Error('The schema is not valid JSON.'))
          return
        }
        try {
          const path = `/api/v1/schemas/${encodeURIComponent(type)}/${encodeURIComponent(name)}/${encodeURIComponent(version)}`
          const answer = await apiRequest<{ compatibility: unknown }>(path, { method: 'PUT', body })
          setResult(
            `Saved ${type} ${name} ${version}.${answer.compatibility ? ` Compatibility: ${JSON.stringify(answer.compatibility)}` : ''}`,
          )
          onSaved()
        } catch (err) {
          setError(err as Error)
        }
      }}
    >
      <div class="filter-fields">
        <label>
          Type
          <select value={type} onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value)}>
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name (* for all)
          <input
            type="text"
            required
            value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          Version (SchemaVer)
          <input
            type="text"
            required
            pattern="\d+-\d+-\d+"
            value={version}
            onInput={(e) => setVersion((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
      </div>
      <label class="block">
        JSON Schema for properties (traits for identify/group)
        <textarea
          rows={10}
          spellcheck={false}
          value={schema}
          onInput={(e) => setSchema((e.currentTarget as HTMLTextAreaElement).value)}
        />
      </label>
      <button type="submit" class="primary">
        Save version
      </button>
      {result ? <p role="status">{result}</p> : null}
      <ErrorNote error={error} />
    </form>
  )
}

export function SchemasPage({ role }: { role: Role }) {
  const schemas = useLoad(
    (signal) => apiRequest<{ schemas: StoredSchema[] }>('/api/v1/schemas', { signal }),
    [],
  )
  const project = useLoad((signal) => apiRequest<Project>('/api/v1/project', { signal }), [])
  const entries = useMemo(() => {
    const map = new Map<string, Entry>()
    for (const s of schemas.data?.schemas ?? []) {
      const key = `${s.eventType} ${s.eventName}`
      const e = map.get(key) ?? { key, eventType: s.eventType, eventName: s.eventName, versions: [] }
      e.versions.push(s)
      map.set(key, e)
    }
    for (const e of map.values()) e.versions.sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    return [...map.values()]
  }, [schemas.data])
  const [selected, setSelected] = useState<string>()
  const entry = entries.find((e) => e.key === selected) ?? entries[0]

  return (
    <>
      <ErrorNote error={schemas.error ?? project.error} />
      {project.data ? (
        <Panel title="Tracking plan enforcement">
          <EnforcementForm project={project.data} role={role} onSaved={project.reload} />
        </Panel>
      ) : null}
      <div class="grid-2">
        <Panel title="Tracking plan" actions={<Loading loading={schemas.loading} />}>
          <DataTable
            caption="Event schemas: type, name, latest version. Select one to see its versions."
            testId="schemas"
            columns={[
              { key: 'eventType', label: 'Type' },
              { key: 'eventName', label: 'Name' },
              {
                key: 'latest',
                label: 'Latest',
                sortValue: (e) => e.versions[e.versions.length - 1].version,
                render: (e) => e.versions[e.versions.length - 1].version,
              },
              {
                key: 'versions',
                label: 'Versions',
                numeric: true,
                sortValue: (e) => e.versions.length,
                render: (e) => e.versions.length,
              },
            ]}
            rows={entries}
            rowKey={(e) => e.key}
            selectedKey={entry?.key}
            onActivate={(e) => setSelected(e.key)}
            empty="No schemas yet: every event is accepted as long as it is well formed."
          />
        </Panel>
        {entry ? (
          <Panel title={`${entry.eventType} “${entry.eventName}”`}>
            {[...entry.versions].reverse().map((v) => (
              <details key={v.version} open={v === entry.versions[entry.versions.length - 1]}>
                <summary>
                  {v.version} <span class="hint">{fmtTime(v.createdAt)}</span>
                </summary>
                <JsonView value={v.jsonSchema} label={`Schema ${v.version}`} />
              </details>
            ))}
          </Panel>
        ) : null}
      </div>
      {role === 'admin' ? (
        <Panel title="Add a schema version">
          <NewVersionForm key={entry?.key} initial={entry} onSaved={schemas.reload} />
        </Panel>
      ) : null}
    </>
  )
}
