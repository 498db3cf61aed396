// Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters
//   1      registration authority     2  organization category
//   3-8    administrative division    9-17 organization code (GB 11714-1997, its own check digit at 17)
//   18     check character over 1-17 (modulus 31)
const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY'; // 31 characters: no I, O, Z, S, V
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

export function creditCodeCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += CHARSET.indexOf(first17[i]!) * WEIGHTS[i]!;
  return CHARSET[(31 - (sum % 31)) % 31]!;
}

/** GB 11714 check character over the 8-character body of an organization code. */
export function orgCodeCheckChar(body8: string): string {
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const c = body8[i]!;
    const v = c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : c.charCodeAt(0) - 55;
    sum += v * ORG_WEIGHTS[i]!;
  }
  const c9 = 11 - (sum % 11);
  return c9 === 10 ? 'X' : c9 === 11 ? '0' : String(c9);
}

/** Returns null when valid, otherwise why not. */
export function creditCodeProblem(code: string): string | null {
  if (code.length !== 18) return 'must be 18 characters';
  for (const ch of code) if (!CHARSET.includes(ch)) return `contains "${ch}", which no unified social credit code uses`;
  if (!/^[1-9A-HJ-NPQRTUWXY][1-9A-HJ-NPQRTUWXY]\d{6}/.test(code)) {
    return 'characters 1-2 must be a registration authority and category code and 3-8 an administrative division code';
  }
  const orgCode = code.slice(8, 17);
  if (!/^[0-9A-HJ-NPQRTUWXY]{8}[0-9X]$/.test(orgCode) || orgCodeCheckChar(orgCode.slice(0, 8)) !== orgCode[8]) {
    return 'the organization code (characters 9-17) fails its GB 11714 check digit';
  }
  if (creditCodeCheckChar(code.slice(0, 17)) !== code[17]) return 'the check character (18th) does not match (GB 32100-2015)';
  return null;
}

export const CREDIT_CODE_CHARSET = CHARSET;
