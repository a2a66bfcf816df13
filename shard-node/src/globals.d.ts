// contracts/ is runtime-neutral and names WebCrypto's global CryptoKey type, which @types/node
// (without the DOM lib) only exposes under node:crypto's webcrypto namespace.
type CryptoKey = import("node:crypto").webcrypto.CryptoKey;
