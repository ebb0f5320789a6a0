import { describe, expect, it } from 'vitest'
import type { ProceedDecision } from '../src/decide/decide.js'
import { FOLLOW_UP_LINKS, followUps } from '../src/report/follow-ups.js'

const decision = (
  procedure: ProceedDecision['procedure'],
  from: string,
  to: string
): ProceedDecision => ({
  kind: 'proceed',
  procedure,
  from,
  to,
  rule: '',
  reasons: [],
  rollbackRevision: procedure === 'in-place' ? 3 : undefined
})

const mentions = (items: string[], text: string) => items.some(i => i.includes(text))

describe('followUps', () => {
  it.each([
    ['2.8.5', '2.8.4', true],
    ['2.9.3', '2.8.4', true],
    ['2.7.14', '2.7.13', true],
    ['2.8.4', '2.7.14', false], // 2.8.4 predates the fix (2.8.5), so nothing was migrated
    ['2.8.6', '2.8.5', false],
    ['2.8.5', '2.7.14', false]
  ])('RKE1 state migration follow-up from %s to %s: %s', (from, to, expected) => {
    const items = followUps(decision('in-place', from, to), true, ['c-abcde', 'prod-rke1'])
    const item = items.find(i => i.includes('reverse-rke-state-migrations'))
    expect(item !== undefined).toBe(expected)
    if (item) {
      expect(item).toContain('c-abcde, prod-rke1')
      expect(item).toContain('GHSA-6gr4-52w6-vmqx')
    }
  })

  it('no RKE1 follow-up without RKE1 clusters', () => {
    const items = followUps(decision('in-place', '2.8.5', '2.8.4'), true, [])
    expect(items.some(i => i.includes('reverse-rke-state-migrations'))).toBe(false)
  })

  it('below 2.7.5: downstream rancher-webhook check with both links', () => {
    const items = followUps(decision('in-place', '2.7.5', '2.7.4'), true)
    const webhook = items.find(i => i.includes(FOLLOW_UP_LINKS.webhookDocsPr))
    expect(webhook).toBeDefined()
    expect(webhook).toContain(FOLLOW_UP_LINKS.webhookIssue)
    expect(webhook).toContain('downstream')
    expect(webhook).toContain('helm -n cattle-system list --filter rancher-webhook')
  })

  it('no downstream-webhook item when the target is 2.7.5 or later', () => {
    expect(
      mentions(
        followUps(decision('in-place', '2.8.5', '2.8.4'), true),
        FOLLOW_UP_LINKS.webhookDocsPr
      )
    ).toBe(false)
    expect(
      mentions(
        followUps(decision('in-place', '2.7.6', '2.7.5'), true),
        FOLLOW_UP_LINKS.webhookDocsPr
      )
    ).toBe(false)
  })

  it('accepts v-prefixed and pre-release targets', () => {
    expect(
      mentions(
        followUps(decision('in-place', 'v2.7.5', 'v2.7.4'), true),
        FOLLOW_UP_LINKS.webhookDocsPr
      )
    ).toBe(true)
    expect(
      mentions(
        followUps(decision('in-place', '2.7.5', '2.7.4-rc1'), true),
        FOLLOW_UP_LINKS.webhookDocsPr
      )
    ).toBe(true)
  })

  it('fleet agents restart, with its link, after every procedure', () => {
    for (const p of ['in-place', 'cleanup-and-reinstall', 'restore-only'] as const) {
      const items = followUps(decision(p, '2.8.5', p === 'restore-only' ? '2.8.5' : '2.8.4'), true)
      expect(mentions(items, FOLLOW_UP_LINKS.fleetAgentIssue)).toBe(true)
      expect(mentions(items, 'rollout restart deploy/fleet-agent')).toBe(true)
    }
  })

  it('cleanup-and-reinstall: downstream RKE2 stuck "Updating" with the workaround', () => {
    const items = followUps(decision('cleanup-and-reinstall', '2.7.7', '2.7.6'), true)
    const rke2 = items.find(i => i.includes(FOLLOW_UP_LINKS.rke2UpdatingIssue))
    expect(rke2).toContain('Updating')
    expect(rke2).toContain('-kubeconfig')
    expect(
      mentions(
        followUps(decision('in-place', '2.8.5', '2.8.4'), true),
        FOLLOW_UP_LINKS.rke2UpdatingIssue
      )
    ).toBe(false)
  })

  it('in-place with the webhook kept: check that rancher-webhook followed the rollback', () => {
    const items = followUps(decision('in-place', '2.8.5', '2.8.4'), true)
    expect(mentions(items, 'helm -n cattle-system history rancher-webhook')).toBe(true)
    // When the run removed it and verified Rancher's reinstall, there is nothing left to check.
    expect(
      mentions(
        followUps(decision('in-place', '2.8.5', '2.8.4'), true, [], true),
        'history rancher-webhook'
      )
    ).toBe(false)
    expect(
      mentions(
        followUps(decision('cleanup-and-reinstall', '2.7.7', '2.7.6'), true),
        'history rancher-webhook'
      )
    ).toBe(false)
  })

  it('restore-only is not a version change: no webhook items', () => {
    const items = followUps(decision('restore-only', '2.7.4', '2.7.4'), true)
    expect(mentions(items, FOLLOW_UP_LINKS.webhookDocsPr)).toBe(false)
    expect(mentions(items, 'history rancher-webhook')).toBe(false)
  })

  it('every item carries a link', () => {
    const items = followUps(decision('cleanup-and-reinstall', '2.7.7', '2.7.4'), true)
    expect(items.length).toBeGreaterThanOrEqual(3)
    for (const item of items) expect(item).toMatch(/\]\(https:\/\/github\.com\//)
  })

  it('an unfinished rollback prefixes every item', () => {
    const items = followUps(decision('in-place', '2.8.5', '2.8.4'), false)
    expect(items.length).toBeGreaterThan(0)
    for (const item of items) expect(item.startsWith('Once the rollback is finished: ')).toBe(true)
  })
})
