import { describe, expect, it } from 'vitest'
import {
  BACKOFF_MAX_MS,
  backoffDelayMs,
  formatSeconds,
  isTransientError
} from '../src/kube/transient-errors.js'

const transient: [string, string][] = [
  [
    'connection refused (kubectl)',
    'The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?'
  ],
  [
    'connection refused (dial)',
    'Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused'
  ],
  [
    'connection refused (helm)',
    'Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:6443/version": dial tcp 10.0.0.1:6443: connect: connection refused'
  ],
  [
    'connection reset',
    'Unable to connect to the server: read tcp 10.1.0.5:51234->10.0.0.1:6443: read: connection reset by peer'
  ],
  ['i/o timeout', 'Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout'],
  ['TLS handshake timeout', 'Unable to connect to the server: net/http: TLS handshake timeout'],
  [
    'context deadline exceeded',
    'Error from server: error when retrieving current configuration of: context deadline exceeded'
  ],
  [
    'Client.Timeout exceeded',
    'Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)'
  ],
  [
    'ServiceUnavailable (503)',
    'Error from server (ServiceUnavailable): the server is currently unable to handle the request (get deployments.apps rancher)'
  ],
  [
    'discovery 503',
    'error: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request'
  ],
  ['etcd leader changed', 'Error from server: etcdserver: leader changed'],
  ['etcd request timed out', 'Error from server: etcdserver: request timed out'],
  [
    'TooManyRequests (429)',
    'Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later (get pods)'
  ],
  [
    'Too Many Requests text',
    'Error: failed to fetch https://charts.rancher.com/index.yaml : 429 Too Many Requests'
  ],
  [
    'InternalError (500)',
    'Error from server (InternalError): Internal error occurred: failed calling webhook "rancher.cattle.io.namespaces": failed to call webhook: Post "https://rancher-webhook.cattle-system.svc:443/v1/webhook/validation/namespaces?timeout=10s": no endpoints available for service "rancher-webhook"'
  ],
  [
    'generic 5xx (502)',
    'Error from server (InternalError): an error on the server ("<html>502 Bad Gateway</html>") has prevented the request from succeeding (get pods)'
  ],
  [
    'Timeout (504)',
    'Error from server (Timeout): the server was unable to return a response in the time allotted, but may still be processing the request (get secrets)'
  ],
  [
    'helm repo 503',
    'Error: looks like "https://releases.rancher.com/server-charts/stable" is not a valid chart repository or cannot be reached: failed to fetch https://releases.rancher.com/server-charts/stable/index.yaml : 503 Service Unavailable'
  ],
  [
    'unexpected EOF',
    'Error: UPGRADE FAILED: Get "https://10.0.0.1:6443/api/v1/namespaces/cattle-system/secrets": unexpected EOF'
  ],
  ['bare EOF', 'Unable to connect to the server: EOF'],
  [
    'http2 connection lost',
    'Error from server: Get "https://10.0.0.1:6443/api/v1/pods": http2: client connection lost'
  ],
  [
    'multi-line with warnings first',
    'W0101 12:00:00.000000   123 warnings.go:70] some deprecation\nUnable to connect to the server: net/http: TLS handshake timeout\n'
  ]
]

const deterministic: [string, string][] = [
  ['NotFound', 'Error from server (NotFound): deployments.apps "rancher" not found'],
  ['NotFound namespace', 'Error from server (NotFound): namespaces "cattle-system" not found'],
  ['AlreadyExists', 'Error from server (AlreadyExists): secrets "rancher-backup" already exists'],
  [
    'Forbidden',
    'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "secrets" in API group "" in the namespace "cattle-system"'
  ],
  ['Unauthorized', 'error: You must be logged in to the server (Unauthorized)'],
  [
    'credentials',
    'Error: Kubernetes cluster unreachable: the server has asked for the client to provide credentials'
  ],
  [
    'Invalid',
    'The Deployment "rancher" is invalid: spec.template.spec.containers[0].image: Required value'
  ],
  [
    'Invalid reason',
    'Error from server (Invalid): error when creating "STDIN": Secret "x" is invalid: data[tls.crt]: Invalid value'
  ],
  [
    'error validating',
    'error: error validating "STDIN": error validating data: ValidationError(Deployment.spec): unknown field "replica" in io.k8s.api.apps.v1.DeploymentSpec; if you choose to ignore these errors, turn validation off with --validate=false'
  ],
  [
    'conflict',
    'Error from server (Conflict): Operation cannot be fulfilled on deployments.apps "rancher": the object has been modified; please apply your changes to the latest version and try again'
  ],
  ['helm no deployed releases', 'Error: UPGRADE FAILED: "rancher" has no deployed releases'],
  ['helm release not found', 'Error: release: not found'],
  ['helm unknown flag', 'Error: unknown flag: --rollback-on-failure'],
  ['kubectl unknown shorthand flag', "error: unknown shorthand flag: 'z' in -z"],
  [
    'deterministic wins over a transient phrase',
    'Error from server (NotFound): the server could not find the requested resource\nUnable to connect to the server: i/o timeout'
  ],
  ['empty stderr', ''],
  [
    'unrelated error',
    'Error: chart "rancher" version "2.99.0" not found in https://releases.rancher.com/server-charts/stable repository'
  ]
]

describe('isTransientError', () => {
  it.each(transient)('transient: %s', (_name, stderr) => {
    expect(isTransientError(stderr, 1)).toBe(true)
  })

  it.each(deterministic)('not transient: %s', (_name, stderr) => {
    expect(isTransientError(stderr, 1)).toBe(false)
  })

  it('exit code 0 is never an error', () => {
    expect(isTransientError('Unable to connect to the server: EOF', 0)).toBe(false)
  })
})

describe('backoffDelayMs', () => {
  it('doubles from 1s and caps at 10s without jitter', () => {
    const none = (): number => 0
    expect([1, 2, 3, 4, 5, 6, 10].map(n => backoffDelayMs(n, none))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000, 10_000
    ])
  })

  it('adds at most 10% jitter and never exceeds the cap', () => {
    const max = (): number => 0.999999
    expect(backoffDelayMs(1, max)).toBe(1099)
    expect(backoffDelayMs(2, max)).toBe(2199)
    expect(backoffDelayMs(4, max)).toBe(8799)
    expect(backoffDelayMs(5, max)).toBe(BACKOFF_MAX_MS)
    for (let i = 0; i < 50; i++) {
      const d = backoffDelayMs(3)
      expect(d).toBeGreaterThanOrEqual(4000)
      expect(d).toBeLessThan(4400)
    }
  })

  it('treats nonsense retry numbers as the first retry', () => {
    expect(backoffDelayMs(0, () => 0)).toBe(1000)
    expect(backoffDelayMs(-3, () => 0)).toBe(1000)
  })
})

describe('formatSeconds', () => {
  it.each([
    [1000, '1s'],
    [1500, '1.5s'],
    [300, '0.3s'],
    [30_000, '30s'],
    [2199, '2.2s']
  ])('%i ms → %s', (ms, text) => {
    expect(formatSeconds(ms)).toBe(text)
  })
})
