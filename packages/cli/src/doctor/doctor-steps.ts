import type { DoctorStep } from './doctor-step'
import { authenticationStep } from './steps/authentication-step'
import { callerIdentityStep } from './steps/caller-identity-step'
import { credentialsStep } from './steps/credentials-step'
import { dnsStep } from './steps/dns-step'
import { dsqlRoleStep } from './steps/dsql-role-step'
import { optionsStep } from './steps/options-step'
import { queryStep } from './steps/query-step'
import { rdsIamRoleStep } from './steps/rds-iam-role-step'
import { regionStep } from './steps/region-step'
import { tcpStep } from './steps/tcp-step'
import { tlsStep } from './steps/tls-step'

/** In the order a connection needs them: each step relies on the ones before it. */
export const DOCTOR_STEPS: readonly DoctorStep[] = [
  optionsStep,
  regionStep,
  credentialsStep,
  callerIdentityStep,
  dnsStep,
  tcpStep,
  tlsStep,
  authenticationStep,
  queryStep,
  rdsIamRoleStep,
  dsqlRoleStep,
]
