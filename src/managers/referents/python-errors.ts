/**
 * Python's built-in exceptions that a manager's dict and list raise (KeyError,
 * IndexError, ValueError...). They reach the client as mp.RemoteError whose
 * `remoteName` is the Python name, so a port can tell them apart.
 */
export function pythonError(name: string, message: string): Error {
  const error = new Error(message);
  Object.defineProperty(error, "name", { value: name, writable: true, configurable: true });
  return error;
}
