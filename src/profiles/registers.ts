/** Register arithmetic of profile values, apart from the loader so that a running gateway's codec loads no schema. */
import type { ValueType } from './schema.js';

/** Registers one value of this type occupies (the codec re-exports this: profiles may not import drivers). */
export function registersFor(type: ValueType): 1 | 2 {
  return type === 'u32' || type === 'i32' || type === 'f32' ? 2 : 1;
}
