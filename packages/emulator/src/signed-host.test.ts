import { describe, expect, it } from 'vitest'
import { signedHostCandidates } from './signed-host.js'

describe('signedHostCandidates', () => {
  it('offers the host as written and lowercased, with its port', () => {
    expect(signedHostCandidates('Demo.Cluster-Abc.us-east-1.rds.amazonaws.com:5432')).toEqual([
      'Demo.Cluster-Abc.us-east-1.rds.amazonaws.com:5432',
      'demo.cluster-abc.us-east-1.rds.amazonaws.com:5432',
    ])
  })

  it('offers a lowercase host once', () => {
    expect(signedHostCandidates('db.example.com:5432')).toEqual(['db.example.com:5432'])
  })

  it('also offers the host without port 443, the https default botocore and Go leave out', () => {
    expect(signedHostCandidates('DB.example.com:443')).toEqual([
      'DB.example.com:443',
      'db.example.com:443',
      'DB.example.com',
      'db.example.com',
    ])
  })
})
