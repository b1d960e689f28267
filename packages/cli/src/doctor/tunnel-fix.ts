/** The fix for an RDS endpoint reached through a tunnel: sign for, and verify, the endpoint's own name. */
export function tunnelFix(endpoint: string): string {
  return `Dialing a tunnel or alias, pass the RDS endpoint as --token-host ${endpoint} (and --token-port with its port if the tunnel listens on another one), so the token is signed for it and TLS is verified against it.`
}
