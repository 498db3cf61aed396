// Route schema pieces shared by every route module.

export const ref = (id: string) => ({ $ref: `${id}#` });
export const idParams = ref('common/id-params.json');
export const pageQuery = (extra: Record<string, unknown>) => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    cursor: { type: 'string', maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' },
    ...extra,
  },
});
