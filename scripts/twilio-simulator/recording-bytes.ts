/** The fake Twilio's recording media: 32 KiB derived from the SID, so tests can compute the same bytes. */
export function fakeRecordingBytes(recordingSid: string): Uint8Array {
  const out = new Uint8Array(32 * 1024);
  for (let i = 0; i < out.length; i++) out[i] = (recordingSid.charCodeAt(i % recordingSid.length) + i) & 0xff;
  return out;
}
