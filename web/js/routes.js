// @ts-check
// The route table: every page of the app registers here with its pattern and title. A new
// page (networks, containers, ...) is one more line and one more file under pages/.

import { kindSpec } from "./catalog.js";
import { CatalogPage } from "./pages/catalog.js";
import { ContainersPage, HostContainersPage } from "./pages/containers.js";
import { HostNetworksPage, HostStoragePage } from "./pages/host-landscape.js";
import { LoginPage } from "./pages/login.js";
import { OverviewPage } from "./pages/overview.js";
import { VmPage } from "./pages/vm.js";

/** @type {import("./router.js").Route<import("./pages/page.js").PageContext>[]} */
export const ROUTES = [
  { pattern: "/login", page: LoginPage, title: "Sign in · Brine", public: true },
  { pattern: "/", page: OverviewPage, title: "Overview · Brine" },
  { pattern: "/vm/:name", page: VmPage, title: (params) => `${params.name} · Brine` },
  { pattern: "/catalog", page: CatalogPage, title: "Catalog · Brine" },
  { pattern: "/catalog/:kind", page: CatalogPage, title: (params) => `${kindSpec(params.kind)?.label ?? params.kind} · Catalog · Brine` },
  { pattern: "/hosts/:host/networks", page: HostNetworksPage, title: (params) => `Networks · ${params.host} · Brine` },
  { pattern: "/hosts/:host/storage", page: HostStoragePage, title: (params) => `Storage · ${params.host} · Brine` },
  { pattern: "/containers", page: ContainersPage, title: "Containers · Brine" },
  { pattern: "/hosts/:host/containers", page: HostContainersPage, title: (params) => `Containers · ${params.host} · Brine` },
];

/** Where an unknown route goes. */
export const FALLBACK = "/";
/** Where a route that needs a session goes without one. */
export const LOGIN = "/login";
