export { exportOnnx, ONNX_OUTPUTS, type OnnxExportOptions } from "./export.js";
export { importOnnx, type OnnxImportOptions } from "./import.js";
export {
  loadOnnxTreeModel,
  ONNX_TREE_KIND,
  type OnnxSource,
  OnnxTreeModel,
  type OnnxTreeModelInit,
} from "./model.js";
