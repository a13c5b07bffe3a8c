// The pipelines this repository deploys: the samples, which read the sample upstream (and so run
// only where it is enabled). A user's deployment passes its own list to createSluice.
import type { Pipeline } from "./define";
import { samplePosts } from "./sample-posts";
import { sampleWeather } from "./sample-weather";
import { sampleWeatherDaily, sampleWeatherProcessed } from "./sample-derived";
import { sampleStations } from "./sample-stations";
import { sampleCustomers, sampleOrders } from "./sample-shop";

export const catalogPipelines: readonly Pipeline[] = [
  sampleWeather,
  samplePosts,
  sampleStations,
  sampleWeatherProcessed,
  sampleWeatherDaily,
  sampleCustomers,
  sampleOrders,
];
