// The IAM check itself: its mapping of calls to IAM requests, and that it fails for a denied call, an unused grant
// and a stale exemption, on synthetic calls and on the calls the end-to-end tests recorded against the real template.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { authorizationsFor, evaluate, readCalls, readExemptions, report } from './check.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/LedgerTable'

test('API Gateway calls are authorized by HTTP verb on the resource path', () => {
  assert.deepEqual(authorizationsFor({ service: 'apigateway', method: 'POST', path: '/apikeys' }), [
    { action: 'apigateway:POST', resource: 'arn:aws:apigateway:us-east-1::/apikeys' },
  ])
  assert.deepEqual(authorizationsFor({ service: 'apigateway', method: 'DELETE', path: '/usageplans/StripeUsagePlan/keys/k1' }), [
    { action: 'apigateway:DELETE', resource: 'arn:aws:apigateway:us-east-1::/usageplans/StripeUsagePlan/keys/k1' },
  ])
})

test('a DynamoDB transaction needs each item operation on its table', () => {
  const call = {
    service: 'dynamodb',
    target: 'DynamoDB_20120810.TransactWriteItems',
    resources: { TransactItems: [{ kind: 'Put', TableName: 'LedgerTable' }, { kind: 'ConditionCheck', TableName: 'LedgerTable' }] },
  }
  assert.deepEqual(authorizationsFor(call), [
    { action: 'dynamodb:PutItem', resource: table },
    { action: 'dynamodb:ConditionCheckItem', resource: table },
  ])
  assert.deepEqual(authorizationsFor({ service: 'dynamodb', target: 'DynamoDB_20120810.Query', resources: { TableName: 'LedgerTable', IndexName: 'byKey' } }), [
    { action: 'dynamodb:Query', resource: `${table}/index/byKey` },
  ])
})

test('secrets, Marketplace and unknown calls', () => {
  assert.deepEqual(authorizationsFor({ service: 'secretsmanager', target: 'secretsmanager.GetSecretValue', resources: { SecretId: 'StripeSecretArn' } }), [
    { action: 'secretsmanager:GetSecretValue', resource: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:StripeSecretArn' },
  ])
  assert.deepEqual(authorizationsFor({ service: 'aws-marketplace', target: 'AWSMPMeteringService.ResolveCustomer' }), [
    { action: 'aws-marketplace:ResolveCustomer', resource: '*' },
  ])
  assert.throws(() => authorizationsFor({ service: 's3', method: 'GET', path: '/bucket' }), /no IAM mapping/)
})

test('SES SendEmail needs ses:SendEmail on the sender identity and on the configuration set it names', () => {
  const send = { service: 'ses', method: 'POST', path: '/v2/email/outbound-emails' }
  assert.deepEqual(authorizationsFor({ ...send, resources: { FromEmailAddress: 'EmailSenderAddress' } }), [
    { action: 'ses:SendEmail', resource: 'arn:aws:ses:us-east-1:123456789012:identity/EmailSenderAddress' },
  ])
  assert.deepEqual(authorizationsFor({ ...send, resources: { FromEmailAddress: 'EmailSenderAddress', ConfigurationSetName: 'EmailConfigurationSet' } }), [
    { action: 'ses:SendEmail', resource: 'arn:aws:ses:us-east-1:123456789012:identity/EmailSenderAddress' },
    { action: 'ses:SendEmail', resource: 'arn:aws:ses:us-east-1:123456789012:configuration-set/EmailConfigurationSet' },
  ])
  assert.throws(() => authorizationsFor({ ...send, resources: {} }), /without FromEmailAddress/)
})

const policy = (...statements) => ({ role: 'FnRole', policies: [{ name: 'FnRolePolicy0', document: { Version: '2012-10-17', Statement: statements } }] })
const getItem = { function: 'Fn', service: 'dynamodb', target: 'DynamoDB_20120810.GetItem', resources: { TableName: 'LedgerTable' } }

test('a call every grant covers, and every grant used, is clean', async () => {
  const result = await evaluate({ Fn: policy({ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: table }) }, [getItem])
  assert.deepEqual(report(result), [])
})

test('a call no grant allows is reported denied', async () => {
  const result = await evaluate({ Fn: policy({ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: table }) }, [getItem])
  assert.equal(result.denied.length, 1)
  assert.equal(result.denied[0].action, 'dynamodb:GetItem')
  assert.match(report(result).join('\n'), /DENIED  Fn: dynamodb:GetItem on .*table\/LedgerTable/)
})

test('a grant no call uses is reported unused, and a stale exemption is reported', async () => {
  const fns = { Fn: policy({ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Scan'], Resource: table }) }
  const result = await evaluate(fns, [getItem], [{ function: 'Fn', action: 'sqs:SendMessage', reason: 'gone' }])
  assert.deepEqual(result.unused.map((g) => g.action), ['dynamodb:Scan'])
  assert.equal(result.stale.length, 1)
})

// The recorded calls are the evidence; without them this test fails rather than proving nothing.
const callLog = process.env.MONETIZATION_AWS_CALL_LOG

function templatePolicies() {
  return JSON.parse(execFileSync('python3', [`${here}function_policies.py`], { encoding: 'utf8' }))
}

function withoutGrant(functions, functionName, sid, action) {
  const copy = structuredClone(functions)
  for (const p of copy[functionName].policies) {
    for (const s of [p.document.Statement].flat()) {
      if (s.Sid === sid) s.Action = [s.Action].flat().filter((a) => a !== action)
    }
  }
  return copy
}

test('the recorded calls prove the template, and removing one grant the flows use makes the check fail', async (t) => {
  assert.ok(callLog && existsSync(callLog), 'set MONETIZATION_AWS_CALL_LOG to the directory dotnet test recorded the AWS calls in')
  const calls = readCalls(callLog)
  assert.ok(calls.length > 0, `no calls recorded under ${callLog}`)
  const functions = templatePolicies()
  const exemptions = readExemptions()

  await t.test('as deployed: clean', async () => {
    assert.deepEqual(report(await evaluate(functions, calls, exemptions)), [])
  })

  await t.test('without the Portal ledger PutItem: denied', async () => {
    const result = await evaluate(withoutGrant(functions, 'PortalFunction', 'Ledger', 'dynamodb:PutItem'), calls, exemptions)
    assert.ok(result.denied.some((d) => d.function === 'PortalFunction' && d.action === 'dynamodb:PutItem'), report(result).join('\n'))
  })

  await t.test('without SubscriptionEvents deleting stray keys: denied', async () => {
    const result = await evaluate(withoutGrant(functions, 'SubscriptionEventsFunction', 'ManageKeys', 'apigateway:DELETE'), calls, exemptions)
    assert.ok(result.denied.some((d) => d.function === 'SubscriptionEventsFunction' && d.action === 'apigateway:DELETE'), report(result).join('\n'))
  })

  await t.test('without the Portal sending as the sender identity or with the configuration set: denied', async () => {
    for (const kept of ['configuration-set/', 'identity/']) {
      const narrowed = structuredClone(functions)
      for (const p of narrowed.PortalFunction.policies) {
        for (const s of [p.document.Statement].flat()) {
          if (s.Sid === 'SendMail') s.Resource = [s.Resource].flat().filter((r) => r.includes(kept))
        }
      }
      const result = await evaluate(narrowed, calls, exemptions)
      assert.ok(
        result.denied.some((d) => d.function === 'PortalFunction' && d.action === 'ses:SendEmail' && !d.resource.includes(kept)),
        report(result).join('\n'),
      )
    }
  })

  await t.test('with a grant nothing uses: unused', async () => {
    const extra = structuredClone(functions)
    extra.PortalFunction.policies[0].document.Statement.push({ Sid: 'Extra', Effect: 'Allow', Action: 'dynamodb:Scan', Resource: table })
    const result = await evaluate(extra, calls, exemptions)
    assert.deepEqual(result.unused.map((g) => `${g.function} ${g.action}`), ['PortalFunction dynamodb:Scan'])
  })
})
