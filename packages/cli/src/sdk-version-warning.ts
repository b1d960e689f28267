// The AWS SDK prints, once per process on Node below 22, that its releases from January 2027 on need Node 22. From
// a command someone runs that line is noise they cannot act on: which SDK the CLI ships with is ours to keep
// working, and its engines field says which Node it runs on. The SDK's own switch turns it off; a value the user
// set is left alone, and the commands rds-iam starts get the environment as the user gave it.
const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'
const setByUs = process.env[SWITCH] === undefined

export function silenceSdkVersionWarning(): void {
  if (setByUs) process.env[SWITCH] = 'true'
}

/** The environment for a command rds-iam starts: the user's, without the switch set above. */
export function userEnvironment(): NodeJS.ProcessEnv {
  if (!setByUs) return { ...process.env }
  const { [SWITCH]: _ours, ...environment } = process.env
  return environment
}
