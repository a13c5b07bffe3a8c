// "sluice/sample": the sample upstream (a synthetic weather API and social API with the limits,
// faults and pagination of real ones) and the pipelines that read it. For trying sluice and for
// tests; a production deployment never includes it.
export { SampleUpstream } from "../../durable-objects/sample-upstream";
export { sample as sampleRoutes } from "../routes/sample";
export { sampleWeather } from "../pipelines/sample-weather";
export { samplePosts } from "../pipelines/sample-posts";
export { SAMPLE_ORIGIN } from "../upstream/fetch";
export { sampleDaily } from "../flows/sample-daily";
export { sampleChain } from "../flows/sample-chain";
export { sampleShop } from "../flows/sample-shop";
export { sampleCustomers, sampleOrders } from "../pipelines/sample-shop";
export { sampleWeatherProcessed, sampleWeatherDaily } from "../pipelines/sample-derived";
export { sampleStations } from "../pipelines/sample-stations";
