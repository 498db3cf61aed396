// What a printed certificate's QR code says (SPEC §8): the certificate's page on the public register
// with the credential in the fragment, `<PUBLIC_URL>/register/certificates/<number>#vc=<vc+jwt>`.
// A phone's camera opens the page (the fragment never leaves the phone: browsers do not send it),
// and the page, the CLI or any verifier takes the credential from after `#vc=` and checks it offline.
// The JWS is base64url and dots, all characters a fragment may hold unescaped, so the QR carries it
// as signed, byte for byte.

const VC_PARAM = 'vc';

/** The address of a certificate's page on the public register. */
export const certificatePageUrl = (publicUrl: string, number: string) => `${publicUrl.replace(/\/+$/, '')}/register/certificates/${encodeURIComponent(number)}`;

/** The QR code's text for a certificate: its register page with the credential in the fragment. */
export function qrPayloadOf(publicUrl: string, number: string, jwt: string): string {
  return `${certificatePageUrl(publicUrl, number)}#${VC_PARAM}=${jwt}`;
}

/**
 * The verification URL and the credential of a QR code's text (or of a pasted one): a URL whose
 * fragment holds `vc=<jwt>` gives both; anything else is taken as a bare credential (url null), so a
 * malformed one is judged by the verifier like any pasted text. A URL with no `vc` in its fragment
 * gives an empty credential, which no verifier accepts.
 */
export function parseQrPayload(text: string): { url: string | null; jwt: string } {
  const trimmed = text.trim();
  if (!/^https?:\/\//i.test(trimmed)) return { url: null, jwt: trimmed };
  let u: URL;
  try {
    u = new URL(trimmed);
  } catch {
    return { url: null, jwt: trimmed };
  }
  const jwt = new URLSearchParams(u.hash.slice(1)).get(VC_PARAM) ?? '';
  u.hash = '';
  return { url: u.href, jwt: jwt.trim() };
}
