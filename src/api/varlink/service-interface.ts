// org.varlink.service as every Varlink service describes it (https://varlink.org/Service), verbatim: what
// GetInterfaceDescription returns for the service interface itself. Served as a table (interfaces.ts): its two
// methods' inputs are declared here beside the text, and a test holds them equal to the text parsed.

import type { VarlinkMethod, VarlinkTableInterface } from './interfaces.js';
import { type ParamSpec, parameterCheck } from './params.js';
import { SERVICE_INTERFACE } from './wire.js';

/** The description GetInterfaceDescription returns for org.varlink.service itself. */
export const SERVICE_DESCRIPTION = `# The Varlink Service Interface is provided by every varlink service. It
# describes the service and the interfaces it implements.
interface org.varlink.service

# Get a list of all the interfaces a service provides and information
# about the implementation.
method GetInfo() -> (
  vendor: string,
  product: string,
  version: string,
  url: string,
  interfaces: []string
)

# Get the description of an interface that is implemented by this service.
method GetInterfaceDescription(interface: string) -> (description: string)

# The requested interface was not found.
error InterfaceNotFound (interface: string)

# The requested method was not found
error MethodNotFound (method: string)

# The interface defines the requested method, but the service does not
# implement it.
error MethodNotImplemented (method: string)

# One of the passed parameters is invalid.
error InvalidParameter (parameter: string)

# Client is denied access
error PermissionDenied ()

# Method is expected to be called with 'more' set to true, but wasn't
error ExpectedMore ()
`;

/** The input fields of org.varlink.service's methods, as SERVICE_DESCRIPTION declares them. */
export const SERVICE_METHOD_INPUTS: Readonly<
  Record<'GetInfo' | 'GetInterfaceDescription', readonly ParamSpec[]>
> = {
  GetInfo: [],
  GetInterfaceDescription: [{ name: 'interface', type: 'string' }],
};

/** org.varlink.service as a table interface, answered by the server's own GetInfo and GetInterfaceDescription. */
export function serviceInterface(
  getInfo: VarlinkMethod,
  getInterfaceDescription: VarlinkMethod,
): VarlinkTableInterface {
  const { GetInfo, GetInterfaceDescription } = SERVICE_METHOD_INPUTS;
  return {
    name: SERVICE_INTERFACE,
    describe: () => SERVICE_DESCRIPTION,
    methods: {
      GetInfo: { check: parameterCheck(GetInfo), run: getInfo },
      GetInterfaceDescription: {
        check: parameterCheck(GetInterfaceDescription),
        run: getInterfaceDescription,
      },
    },
  };
}
