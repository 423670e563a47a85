export {
  AUTO_BINARY_NUMBERS,
  BINARY_MAGIC,
  BINARY_VERSION,
  decodeModel,
  decodeSerialized,
  type EncodeOptions,
  encodeModel,
  modelForm,
} from "./codec.js";
