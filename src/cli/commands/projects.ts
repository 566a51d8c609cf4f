import { AppError, isAppError } from '../../errors/app-error.js'
import { DEFAULT_PROJECT_SETTINGS, type Project } from '../../store/project-types.js'
import { isPlainText } from '../../validate/formats.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import {
  expectPositionals,
  MAX_PROJECT_ID_LENGTH,
  parseCommandArgs,
  printJson,
  projectIdProblem,
  recordCliAudit,
  runCommand,
  shellWord,
  unknownActionError,
  usageError,
  withDatabase,
} from '../command-context.js'

export const PROJECTS_HELP = `Usage: tally projects create ID [--name NAME]
       tally projects list
       [--db URL]

Manages the projects in the database (no server needed). Each project has its own events, API keys,
tracking plan, settings and audit log; "default" is created by "tally serve" on its first start.
  create   creates project ID with the default settings and prints it as JSON
           ({"id","name","createdAt","settings"}); an ID that exists already is refused (conflict)
           ID: 1–255 characters, no control characters, no leading or trailing whitespace
  list     every project as {"projects": [...]}, oldest first

Then give the project its keys (the secret is printed once):
  tally keys create --project ID --role write|read|admin

Options:
  --name NAME     a display name, 1–255 characters (create; default: the ID)
  --db URL        database (TALLY_DATABASE_URL); default sqlite:./data/tally.db
  -h, --help      show this help

Exit status: 0 ok, 1 the project exists already or the database failed, 2 usage error.`

/** `tally projects`: see PROJECTS_HELP. */
export async function projectsCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('projects', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      name: { type: 'string' },
    })
    if (values.help) {
      io.stdout.write(`${PROJECTS_HELP}\n`)
      return 0
    }
    const [action, ...args] = positionals
    if (action === 'create') {
      expectPositionals(args, 1, 1, 'project ID')
      const id = args[0]
      const problem = projectIdProblem(id)
      if (problem !== null) throw usageError(`project id ${problem}`)
      const name = values.name ?? id
      // A name holds what an id may (it defaults to the id): the same length and plain text, spaces anywhere.
      if (name.length === 0 || name.length > MAX_PROJECT_ID_LENGTH || !isPlainText(name)) {
        throw usageError(
          `--name must be 1–${MAX_PROJECT_ID_LENGTH} characters without control characters or lone surrogates`,
        )
      }
      const project: Project = {
        id,
        name,
        createdAt: new Date().toISOString(),
        settings: { ...DEFAULT_PROJECT_SETTINGS },
      }
      // No `default` on the side (project: false): this command creates exactly the project it names.
      return withDatabase(
        { db: values.db },
        io,
        async ({ store }) => {
          try {
            await store.createProject(project)
          } catch (err) {
            if (isAppError(err) && err.code === 'conflict') {
              throw new AppError('conflict', `project ${JSON.stringify(id)} already exists`)
            }
            throw err
          }
          await recordCliAudit(store, io, {
            projectId: id,
            action: 'project.created',
            target: id,
            details: { name },
          })
          await printJson(io, project)
          io.stderr.write(
            `tally projects: created ${JSON.stringify(id)}; next: tally keys create --project ${shellWord(id)} --role write|read|admin\n`,
          )
          return 0
        },
        { create: true, project: false },
      )
    }
    if (action === 'list') {
      expectPositionals(args, 0, 0, '')
      return withDatabase(
        { db: values.db },
        io,
        async ({ store }) => {
          await printJson(io, { projects: await store.listProjects() })
          return 0
        },
        { project: false },
      )
    }
    throw unknownActionError(action, 'create or list')
  })
}

export const projectsCli: CliCommand = {
  summary: 'Projects: create ID (then "keys create --project ID"), list',
  run: projectsCommand,
}
