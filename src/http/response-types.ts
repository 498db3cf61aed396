// The small pieces every response schema is made of.
export const uuid = { type: 'string', format: 'uuid' } as const;
export const nullableUuid = { type: ['string', 'null'], format: 'uuid' } as const;
export const dateTime = { type: 'string', format: 'date-time' } as const;
