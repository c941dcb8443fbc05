/** Z_p arithmetic, fixed point and uniform sampling for the ring-share schemes. */
export * from './field.ts';
export * from './fixed.ts';
export * from './random.ts';
