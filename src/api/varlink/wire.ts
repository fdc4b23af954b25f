// The Varlink wire's small pieces every part of the server shares: the standard error names, the error reply,
// the message encoding, the name rules. (connection.ts and protocol.ts both use them; neither imports the
// other for them.)

export const SERVICE_INTERFACE = 'org.varlink.service';

/** A valid interface name (reverse-domain, https://varlink.org/Interface-Definition). */
export const INTERFACE_NAME = /^[A-Za-z](?:-*[A-Za-z0-9])*(?:\.[A-Za-z0-9](?:-*[A-Za-z0-9])*)+$/;
/** A valid method, type or error name: CamelCase. */
export const MEMBER_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** The standard error names of org.varlink.service. */
export const VarlinkErrors = {
  InterfaceNotFound: `${SERVICE_INTERFACE}.InterfaceNotFound`,
  MethodNotFound: `${SERVICE_INTERFACE}.MethodNotFound`,
  MethodNotImplemented: `${SERVICE_INTERFACE}.MethodNotImplemented`,
  InvalidParameter: `${SERVICE_INTERFACE}.InvalidParameter`,
  PermissionDenied: `${SERVICE_INTERFACE}.PermissionDenied`,
  ExpectedMore: `${SERVICE_INTERFACE}.ExpectedMore`,
} as const;

export type VarlinkParams = Record<string, unknown>;

/** An error reply: a fully-qualified error name and its parameters. */
export class VarlinkError extends Error {
  constructor(
    readonly error: string,
    readonly parameters: VarlinkParams = {},
    message?: string,
  ) {
    super(message ?? error);
    this.name = 'VarlinkError';
  }
}

export const invalidParameter = (parameter: string, message?: string) =>
  new VarlinkError(VarlinkErrors.InvalidParameter, { parameter }, message);
export const permissionDenied = (message?: string) =>
  new VarlinkError(VarlinkErrors.PermissionDenied, {}, message);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One wire message: JSON and its NUL terminator. */
export function encode(msg: unknown): string {
  return `${JSON.stringify(msg)}\0`;
}
