// Module hooks that make the optional package aedes look uninstalled (as after npm ci --omit=optional).
export async function resolve(specifier, context, next) {
  if (specifier === 'aedes' || specifier.startsWith('aedes/')) {
    const error = new Error(`Cannot find package '${specifier}' (hidden by the test)`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}
