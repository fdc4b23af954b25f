// Malformed and oversized calls, and the answers the README documents for them: bad references and
// transports (`docker-archive:`) get InvalidReference, bad arguments InvalidArgument, wrong D-Bus signatures
// InvalidArgs, unknown methods UnknownMethod/MethodNotFound, bad Varlink parameters or JSON InvalidParameter;
// a multi-MiB D-Bus Remove is refused with InvalidArgument from its header, a Varlink message over 1 MiB with
// InvalidParameter (and the connection closed). Accepting any of them is a failure.

import type { Rng } from './config.js';
import type { Allowed, Transport, Uid } from './judge.js';
import { type Call, stringListBody } from './transports.js';

/** 4.8 MB: a Remove of 200,000 strings, far over the daemon's limit; built once. */
const OVERSIZED_BODY = stringListBody(200_000, 'quay.io/x/y:1234');
const BAD_REFS = [
  'docker-archive:/tmp/soak.tar',
  'UPPER/Case:v1',
  'no-registry',
  ' quay.io/x/y:1',
  '',
  '--help',
];
const INVALID: Allowed = { InvalidReference: 'always', InvalidArgument: 'always' };
const only = (name: string): Allowed => ({ [name]: 'always' });

export const dbusCall = (member: string, signature = '', body: unknown[] = []): Call => ({
  t: 'dbus',
  member,
  signature,
  body,
});

export const varlinkCall = (method: string, params: Record<string, unknown> = {}): Call => ({
  t: 'varlink',
  method: method.includes('.') ? method : `org.bootc.Storage.${method}`,
  params,
});

export interface BadCall {
  name: string;
  call: Call;
  allowed: Allowed;
}

/** One malformed call for this transport (`good` is a valid reference, to get past the reference check). */
export function malformedCall(rng: Rng, t: Transport, uid: Uid, good: string): BadCall {
  const bad = rng.pick(BAD_REFS);
  const params = 'org.varlink.service.InvalidParameter';
  const choices: BadCall[] =
    t === 'dbus'
      ? [
          { name: 'Exists(bad reference)', call: dbusCall('Exists', 's', [bad]), allowed: INVALID },
          {
            name: 'Pull(transport)',
            call: dbusCall('Pull', 'ss', ['docker-archive:/tmp/soak.tar', 'always']),
            allowed: INVALID,
          },
          { name: 'Pull(bad policy)', call: dbusCall('Pull', 'ss', [good, 'sometimes']), allowed: INVALID },
          { name: 'Remove(bad reference)', call: dbusCall('Remove', 'as', [[bad]]), allowed: INVALID },
          {
            name: 'Exists(wrong signature)',
            call: dbusCall('Exists', 'u', [5]),
            allowed: only('org.freedesktop.DBus.Error.InvalidArgs'),
          },
          {
            name: 'CancelJob(wrong signature)',
            call: dbusCall('CancelJob', 's', ['7']),
            allowed: only('org.freedesktop.DBus.Error.InvalidArgs'),
          },
          {
            name: 'Explode(unknown method)',
            call: dbusCall('Explode'),
            allowed: only('org.freedesktop.DBus.Error.UnknownMethod'),
          },
        ]
      : [
          { name: 'Exists(bad reference)', call: varlinkCall('Exists', { image: bad }), allowed: INVALID },
          {
            name: 'Pull(transport)',
            call: varlinkCall('Pull', { image: 'docker-archive:/tmp/soak.tar', policy: 'always' }),
            allowed: INVALID,
          },
          { name: 'Exists(image: 5)', call: varlinkCall('Exists', { image: 5 }), allowed: only(params) },
          { name: 'Pull(no policy)', call: varlinkCall('Pull', { image: good }), allowed: only(params) },
          { name: 'CancelJob(id: 1.5)', call: varlinkCall('CancelJob', { id: 1.5 }), allowed: only(params) },
          {
            name: 'Explode(unknown method)',
            call: varlinkCall('Explode'),
            allowed: only('org.varlink.service.MethodNotFound'),
          },
          ...(uid === 'root'
            ? [
                {
                  name: 'bad JSON',
                  call: {
                    t: 'varlink',
                    method: 'org.bootc.Storage.Exists',
                    params: {},
                    raw: 'bad-json',
                  } as Call,
                  allowed: only(params),
                },
              ]
            : []),
        ];
  return rng.pick(choices);
}

/** The oversized call for this transport: megabytes of Remove arguments. */
export function oversizedCall(t: Transport): BadCall {
  if (t === 'dbus') {
    return {
      name: 'Remove(4.8 MB)',
      call: { t: 'dbus', member: 'Remove', signature: 'as', body: [], rawBody: OVERSIZED_BODY },
      allowed: only('InvalidArgument'),
    };
  }
  return {
    name: 'Remove(1.5 MiB message)',
    call: { t: 'varlink', method: 'org.bootc.Storage.Remove', params: {}, raw: 'oversized' },
    allowed: only('org.varlink.service.InvalidParameter'),
  };
}
