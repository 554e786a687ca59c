// The route table and its matcher (router.js, routes.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { createRouter } from "../js/router.js";

class Home {}
class Login {}
class Vm {}

const routes = [
  { pattern: "/login", page: Login, title: "Sign in · Brine", public: true },
  { pattern: "/", page: Home, title: "Overview · Brine" },
  { pattern: "/vm/:name", page: Vm, title: (params) => `${params.name} · Brine` },
];

describe("createRouter", () => {
  const router = createRouter(routes, { fallback: "/" });

  test("each pattern matches its hash, with decoded parameters", () => {
    assert.equal(router.match("#/login").route.page, Login);
    assert.equal(router.match("#/").route.page, Home);
    const vm = router.match("#/vm/lab%20vm1");
    assert.equal(vm.route.page, Vm);
    assert.deepEqual(vm.params, { name: "lab vm1" });
  });
  test("an empty hash is the root", () => {
    assert.equal(router.match("").route.page, Home);
    assert.equal(router.match("#").route.page, Home);
  });
  test("anything unknown, or a malformed escape, is the fallback", () => {
    assert.equal(router.match("#/nowhere").route.page, Home);
    assert.equal(router.match("#/vm/").route.page, Home);
    assert.equal(router.match("#/vm/%E0%A4%A").route.page, Home);
    assert.equal(router.match("#/login/x").route.page, Home);
  });
  test("titles: fixed or from the parameters", () => {
    const vm = router.match("#/vm/lab-vm1");
    assert.equal(router.titleOf(vm.route, vm.params), "lab-vm1 · Brine");
    const home = router.match("#/");
    assert.equal(router.titleOf(home.route, home.params), "Overview · Brine");
  });
  test("href builds the hash of a route, encoding parameters", () => {
    assert.equal(router.href("/vm/:name", { name: "a b/c" }), "#/vm/a%20b%2Fc");
    assert.equal(router.href("/login"), "#/login");
    assert.deepEqual(router.match(router.href("/vm/:name", { name: "a b/c" })).params, { name: "a b/c" });
  });
  test("a fallback outside the table, or a pattern twice, is refused", () => {
    assert.throws(() => createRouter(routes, { fallback: "/nope" }), /fallback/);
    assert.throws(() => createRouter([...routes, { pattern: "/", page: Home, title: "x" }], { fallback: "/" }), /twice/);
  });
});
