/**
 * Where the AWS SDK's default chain finds credentials, in its own order, for the doctor to name. It is read
 * from the same variables the chain reads; core does not tell which provider answered.
 */
export function describeCredentialSource(profile: string | undefined, env = process.env): string {
  const namedProfile = profile ?? (env.AWS_PROFILE || undefined)
  // The chain skips the environment's keys once a profile is named.
  if (namedProfile !== undefined)
    return `profile "${namedProfile}"${profile === undefined ? ' (AWS_PROFILE)' : ''}`
  if (env.AWS_ACCESS_KEY_ID) return 'environment variables (AWS_ACCESS_KEY_ID)'
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE)
    return 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, e.g. EKS IRSA)'
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return 'container credentials (ECS task role or EKS Pod Identity)'
  }
  return 'the default profile of ~/.aws, or the instance metadata service'
}
