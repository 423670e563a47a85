export {
  arffToCsv,
  DATASETS,
  type DatasetInfo,
  type FetchOptions,
  type FetchResult,
  fetchDataset,
  findDataset,
  locateDataset,
} from "./fetch.js";
export { readZip, writeZip, type ZipEntry } from "./zip.js";
