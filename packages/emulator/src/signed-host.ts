// The port an `https://` URL leaves implicit; signers that build their request from such a URL drop it.
const HTTPS_DEFAULT_PORT = '443'

/**
 * The `host` header values an official signer may have signed for the `host:port` a token starts with.
 *
 * The token text keeps the endpoint as the user typed it, but the signers canonicalise the signed host
 * differently: the JavaScript SDK v3 and the Go SDK v2 sign it as written, botocore (boto3 and the AWS CLI)
 * lowercases the host name (`urlsplit().hostname`), and botocore and the Go SDK leave out port 443 because it
 * is the https default. RDS accepts tokens from all of them, so a verifier that only has the token text must
 * try each form; every one is derived from the same text, so none widens what a signature proves.
 *
 * @example signedHostCandidates('Demo.Cluster-Abc.us-east-1.rds.amazonaws.com:5432')
 * // ['Demo.Cluster-Abc.us-east-1.rds.amazonaws.com:5432', 'demo.cluster-abc.us-east-1.rds.amazonaws.com:5432']
 */
export function signedHostCandidates(hostAndPort: string): string[] {
  const separator = hostAndPort.lastIndexOf(':')
  // Aurora DSQL tokens sign the bare host name.
  if (separator < 0) return [...new Set([hostAndPort, hostAndPort.toLowerCase()])]
  const host = hostAndPort.slice(0, separator)
  const port = hostAndPort.slice(separator + 1)
  const names = [...new Set([host, host.toLowerCase()])]
  const withPort = names.map((name) => `${name}:${port}`)
  return port === HTTPS_DEFAULT_PORT ? [...withPort, ...names] : withPort
}
