// Proves the template's IAM policies against what the functions actually do. Every AWS call the end-to-end tests
// recorded (tests/Monetization.Emulators/Recording) is mapped to the IAM action and resource ARN AWS's Service
// Authorization Reference defines for it and evaluated with @cloud-copilot/iam-simulate against the calling
// function's policies from the SAM-transformed template (function_policies.py). The check fails when a call is
// denied, when a call cannot be mapped, and when a granted (action, resource) pair is used by no call.
//
//   node check.mjs --policies policies.json --calls <directory of *.jsonl>
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runSimulation } from '@cloud-copilot/iam-simulate'

export const ACCOUNT = '123456789012'
export const REGION = 'us-east-1'

const here = fileURLToPath(new URL('.', import.meta.url))

// Per-item actions of a DynamoDB transaction (Service Authorization Reference: TransactWriteItems / TransactGetItems
// are authorized as the item operations they contain, on each table).
const TRANSACT_ITEM_ACTIONS = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
}

const tableArn = (name) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`

/** The IAM requests one recorded call needs: [{ action, resource }]. Throws for a call it does not know. */
export function authorizationsFor(call) {
  const { service, method, path, target, resources = {} } = call
  if (service === 'apigateway') {
    // API Gateway authorizes by HTTP verb on the resource path (apigateway:GET on arn:aws:apigateway:<region>::/apikeys).
    return [{ action: `apigateway:${method}`, resource: `arn:aws:apigateway:${REGION}::${path}` }]
  }

  const [prefix, operation] = (target ?? '').split('.')
  if (service === 'dynamodb' && prefix === 'DynamoDB_20120810') {
    if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
      const items = resources.TransactItems ?? []
      if (items.length === 0) throw new Error(`${operation} without items: ${JSON.stringify(call)}`)
      return items.map((item) => {
        const action = TRANSACT_ITEM_ACTIONS[item.kind]
        if (!action) throw new Error(`unknown transaction item ${item.kind}`)
        return { action, resource: tableArn(item.TableName) }
      })
    }

    if (operation === 'BatchWriteItem' || operation === 'BatchGetItem') {
      return (resources.RequestItems ?? []).map((table) => ({ action: `dynamodb:${operation}`, resource: tableArn(table) }))
    }

    if (!resources.TableName) throw new Error(`DynamoDB ${operation} without TableName`)
    const index = resources.IndexName ? `/index/${resources.IndexName}` : ''
    return [{ action: `dynamodb:${operation}`, resource: tableArn(resources.TableName) + index }]
  }

  if (service === 'secretsmanager' && prefix === 'secretsmanager') {
    const id = resources.SecretId
    if (!id) throw new Error(`Secrets Manager ${operation} without SecretId`)
    const arn = id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}`
    return [{ action: `secretsmanager:${operation}`, resource: arn }]
  }

  if (service === 'ses' && method === 'POST' && path === '/v2/email/outbound-emails') {
    // SES v2 SendEmail: ses:SendEmail on the identity of the From address (identity resource required) and on the
    // configuration set when the message names one (Service Authorization Reference, Amazon SES).
    const from = resources.FromEmailAddress
    if (!from) throw new Error('SES SendEmail without FromEmailAddress')
    const requests = [{ action: 'ses:SendEmail', resource: `arn:aws:ses:${REGION}:${ACCOUNT}:identity/${from}` }]
    if (resources.ConfigurationSetName) {
      requests.push({ action: 'ses:SendEmail', resource: `arn:aws:ses:${REGION}:${ACCOUNT}:configuration-set/${resources.ConfigurationSetName}` })
    }
    return requests
  }

  if (service === 'sqs' && prefix === 'AmazonSQS') {
    // SQS authorizes on the queue: arn:aws:sqs:<region>:<account>:<queue name>; the recorder names it by logical id.
    const queue = resources.QueueUrl
    if (!queue) throw new Error(`SQS ${operation} without QueueUrl`)
    const name = queue.startsWith('http') ? new URL(queue).pathname.split('/').pop() : queue
    return [{ action: `sqs:${operation}`, resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}` }]
  }

  if (service === 'aws-marketplace' && prefix === 'AWSMPMeteringService') {
    // ResolveCustomer, BatchMeterUsage and MeterUsage support no resource types: Resource "*".
    return [{ action: `aws-marketplace:${operation}`, resource: '*' }]
  }

  throw new Error(`no IAM mapping for ${service} ${method} ${path} ${target ?? ''}`)
}

/** IAM's wildcard match: '*' any run of characters, '?' one character. */
export function wildcardMatch(pattern, value, ignoreCase = false) {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`, ignoreCase ? 'i' : '').test(value)
}

const asList = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value])

/** Every (action, resource) pair an Allow statement grants, with where it comes from. */
export function grantsOf(functionName, policies) {
  const grants = []
  for (const policy of policies) {
    for (const statement of asList(policy.document.Statement)) {
      if (statement.Effect !== 'Allow') continue
      if (statement.NotAction || statement.NotResource) {
        throw new Error(`${functionName}/${policy.name}: NotAction/NotResource cannot be proven by use`)
      }

      for (const action of asList(statement.Action)) {
        for (const resource of asList(statement.Resource)) {
          grants.push({ function: functionName, policy: policy.name, sid: statement.Sid, action, resource })
        }
      }
    }
  }

  return grants
}

function exempted(grant, exemptions) {
  return exemptions.find(
    (e) =>
      (e.function === '*' || e.function === grant.function) &&
      (e.policy === undefined || e.policy === grant.policy) &&
      e.action === grant.action &&
      (e.resource === undefined || e.resource === grant.resource),
  )
}

/**
 * @returns {{ denied: object[], unmapped: object[], unused: object[], stale: object[], exempted: object[], checked: number }}
 */
export async function evaluate(functions, calls, exemptions = []) {
  const denied = []
  const unmapped = []
  const allowedRequests = new Map()
  const simulated = new Map()

  for (const call of calls) {
    const fn = functions[call.function]
    if (!fn) {
      unmapped.push({ call, reason: `no function ${call.function} in the template` })
      continue
    }

    let requests
    try {
      requests = authorizationsFor(call)
    } catch (e) {
      unmapped.push({ call, reason: e.message })
      continue
    }

    for (const request of requests) {
      const key = `${call.function} ${request.action} ${request.resource}`
      if (!simulated.has(key)) {
        simulated.set(key, await simulate(call.function, fn, request))
      }

      const outcome = simulated.get(key)
      if (outcome === 'Allowed') {
        allowedRequests.set(key, { function: call.function, ...request })
      } else if (!denied.some((d) => d.key === key)) {
        denied.push({ key, function: call.function, ...request, outcome, call })
      }
    }
  }

  const unused = []
  const exemptedGrants = []
  for (const [name, fn] of Object.entries(functions)) {
    for (const grant of grantsOf(name, fn.policies)) {
      const used = [...allowedRequests.values()].some(
        (r) => r.function === name && wildcardMatch(grant.action, r.action, true) && wildcardMatch(grant.resource, r.resource),
      )
      if (used) continue
      const exemption = exempted(grant, exemptions)
      if (exemption) exemptedGrants.push({ ...grant, reason: exemption.reason })
      else unused.push(grant)
    }
  }

  // An exemption nothing is granted under any more must go, or it would excuse the next grant that matches it.
  const allGrants = Object.entries(functions).flatMap(([name, fn]) => grantsOf(name, fn.policies))
  const stale = exemptions.filter((e) => !allGrants.some((g) => exempted(g, [e])))

  return { denied, unmapped, unused, stale, exempted: exemptedGrants, checked: simulated.size }
}

async function simulate(functionName, fn, request) {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/${fn.role}`,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: {},
      },
      identityPolicies: fn.policies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  )
  if (result.errors) return `SimulationError ${JSON.stringify(result.errors)}`
  return result.overallResult
}

export function readCalls(directory) {
  const files = readdirSync(directory).filter((f) => f.endsWith('.jsonl'))
  return files.flatMap((f) =>
    readFileSync(join(directory, f), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line)),
  )
}

export function readExemptions() {
  return JSON.parse(readFileSync(join(here, 'grants-not-called.json'), 'utf8'))
}

/** Human-readable lines; empty when the policies are proven. */
export function report(result) {
  const lines = []
  for (const d of result.denied) lines.push(`DENIED  ${d.function}: ${d.action} on ${d.resource} (${d.outcome})`)
  for (const u of result.unmapped) lines.push(`UNMAPPED ${u.reason}`)
  for (const g of result.unused) lines.push(`UNUSED  ${g.function}/${g.policy}${g.sid ? `/${g.sid}` : ''}: ${g.action} on ${g.resource} is granted but no call uses it`)
  for (const e of result.stale) lines.push(`STALE   grants-not-called.json excuses ${e.function} ${e.action} ${e.resource ?? ''}, which nothing grants`)
  return lines
}

async function main(argv) {
  const arg = (name) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const policiesFile = arg('--policies')
  const callsDirectory = arg('--calls')
  if (!policiesFile || !callsDirectory) {
    console.error('usage: node check.mjs --policies policies.json --calls <directory>')
    return 2
  }

  const calls = readCalls(callsDirectory)
  if (calls.length === 0) {
    console.error(`no recorded AWS calls under ${callsDirectory}: run dotnet test with MONETIZATION_AWS_CALL_LOG set to it`)
    return 1
  }

  const result = await evaluate(JSON.parse(readFileSync(policiesFile, 'utf8')), calls, readExemptions())
  const problems = report(result)
  for (const line of problems) console.log(line)
  for (const e of result.exempted) console.log(`kept    ${e.function}/${e.policy}${e.sid ? `/${e.sid}` : ''}: ${e.action} on ${e.resource} (no call; grants-not-called.json says why)`)
  console.log(`iam: ${calls.length} calls, ${result.checked} distinct authorizations simulated, ${problems.length} problem(s)`)
  return problems.length === 0 ? 0 : 1
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2))
}
