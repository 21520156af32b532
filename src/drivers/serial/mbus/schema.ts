/** Config fragment of an M-Bus meter (device protocol mbus): how it is addressed on its bus. */
import { z } from 'zod';

export const mbusDeviceOptionsSchema = z
  .strictObject({
    address: z.number().int().min(1).max(250).optional().describe('Primary address 1-250'),
    secondary: z
      .string()
      .regex(/^[0-9]{8}$/, 'the identification number printed on the meter: 8 digits')
      .optional()
      .describe('Secondary address (identification number); the meter is selected before each read'),
    manufacturer: z.string().regex(/^[A-Z]{3}$/, 'the three-letter FLAG code, e.g. KAM').optional().describe('With secondary: when two meters share an identification number'),
  })
  .superRefine((o, ctx) => {
    if ((o.address === undefined) === (o.secondary === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give either address (primary, 1-250) or secondary (8-digit identification number)' });
    }
    if (o.manufacturer !== undefined && o.secondary === undefined) {
      ctx.addIssue({ code: 'custom', path: ['manufacturer'], message: 'manufacturer narrows a secondary address; it does not apply to a primary one' });
    }
  });

export type MbusDeviceOptions = z.output<typeof mbusDeviceOptionsSchema>;
