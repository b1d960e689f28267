import { RdsIamError } from './errors'

/** Profiles by name, as the SDK's `loadSharedConfigFiles` returns them. */
export interface SharedConfigFiles {
  configFile: Record<string, Record<string, string | undefined>>
  credentialsFile: Record<string, Record<string, string | undefined>>
}

/** The profile the SDK reads and the shared files as they are on disk now. */
export interface SharedProfile {
  name: string
  files: SharedConfigFiles
}

/**
 * The profile a user chose, and where they chose it, or undefined when they chose none. The SDK falls back to
 * `default` then, and a missing `default` only means "no credentials here", not a mistake.
 */
export function chosenProfile(
  profileOption: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; from: string } | undefined {
  if (profileOption !== undefined) return { name: profileOption, from: 'the `profile` option' }
  return env.AWS_PROFILE ? { name: env.AWS_PROFILE, from: 'AWS_PROFILE' } : undefined
}

/**
 * An error naming the profile when the user chose one that neither shared file has. The SDK reports it as "no
 * credentials" and the region lookup as "no region", so the misspelt name would otherwise never be shown.
 * @example unknownProfileError('prod', await loadSharedConfigFiles()) // RdsIamError 'credentials', or undefined
 */
export function unknownProfileError(
  profileOption: string | undefined,
  files: SharedConfigFiles,
  env: NodeJS.ProcessEnv = process.env,
): RdsIamError | undefined {
  const chosen = chosenProfile(profileOption, env)
  if (chosen === undefined) return undefined
  if (hasProfile(chosen.name, files)) return undefined
  const configPath = env.AWS_CONFIG_FILE || '~/.aws/config'
  const credentialsPath = env.AWS_SHARED_CREDENTIALS_FILE || '~/.aws/credentials'
  return new RdsIamError(
    'credentials',
    `AWS profile "${chosen.name}" (from ${chosen.from}) is in neither ${configPath} nor ${credentialsPath}.`,
    {
      hint: `Check the spelling of ${chosen.from}, add [profile ${chosen.name}] to ${configPath} (\`aws configure --profile ${chosen.name}\`), or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files that have it.`,
    },
  )
}

/**
 * The profile the SDK reads (the chosen one, else `default`) and the files read afresh, so a file fixed since is
 * seen. A chosen profile that neither file has throws the error naming it.
 */
export async function readSharedProfile(profileOption: string | undefined): Promise<SharedProfile> {
  const { getProfileName, loadSharedConfigFiles } = await import('@smithy/core/config')
  const files = await loadSharedConfigFiles({ ignoreCache: true })
  const unknown = unknownProfileError(profileOption, files)
  if (unknown) throw unknown
  return { name: getProfileName({ profile: profileOption }), files }
}

export function hasProfile(name: string, files: SharedConfigFiles): boolean {
  return Object.hasOwn(files.configFile, name) || Object.hasOwn(files.credentialsFile, name)
}
