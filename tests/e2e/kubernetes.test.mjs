// deploy/kubernetes: the base and the GPU overlay render with `kubectl
// kustomize` (any kubectl; Debian 12's kubernetes-client has kustomize v2),
// every object validates offline against the Kubernetes API schemas (npm
// kubernetes-models), the wiring holds (probes, registration path, grace,
// GPU resources), and the probes behave as the manifests expect on a real
// router started with no workers and on a decode worker that registers.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseAllDocuments } from "yaml";

import { freePort, model, pdserve, root, until } from "./cluster.mjs";

const dir = mkdtempSync(path.join(os.tmpdir(), "pdserve-k8s-"));
const procs = [];
const rendered = {};  // "base" | "gpu" -> objects

function render(kustomization) {
  const kubectl = process.env.KUBECTL ?? "kubectl";
  try {
    const yaml = execFileSync(kubectl, ["kustomize", path.join(dir, kustomization)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return parseAllDocuments(yaml).map((d) => d.toJSON()).filter((o) => o);
  } catch (e) {
    assert.fail(`${kubectl} kustomize ${kustomization}: ${e.message} (install Debian's kubernetes-client)`);
  }
}

before(() => {
  cpSync(path.join(root, "deploy/kubernetes"), path.join(dir, "k"), { recursive: true });
  writeFileSync(path.join(dir, "k/base/cluster-token"), "test-token");
  rendered.base = render("k/base");
  rendered.gpu = render("k/overlays/gpu");
});
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const find = (objs, kind, name) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} rendered`);
  return o;
};
const container = (objs, name) => find(objs, "Deployment", name).spec.template.spec.containers[0];

test("every rendered object validates against the Kubernetes API schemas", async () => {
  for (const [which, objs] of Object.entries(rendered)) {
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      "Deployment/pdserve-decode", "Deployment/pdserve-prefill", "Deployment/pdserve-router",
      "HorizontalPodAutoscaler/pdserve-decode",
      "PodDisruptionBudget/pdserve-decode", "PodDisruptionBudget/pdserve-prefill", "PodDisruptionBudget/pdserve-router",
      "Secret/pdserve-cluster",
      "Service/pdserve-decode", "Service/pdserve-prefill", "Service/pdserve-router", "Service/pdserve-router-internal",
    ], which);
    for (const o of objs) {
      const models = await import(`kubernetes-models/${o.apiVersion}`);
      assert.ok(models[o.kind], `${o.apiVersion} ${o.kind} has a schema`);
      assert.doesNotThrow(() => new models[o.kind](o).validate(), `${which}: ${o.kind}/${o.metadata.name}`);
    }
  }
});

test("the schema check rejects a broken object", async () => {
  const { Deployment } = await import("kubernetes-models/apps/v1");
  const bad = structuredClone(find(rendered.base, "Deployment", "pdserve-decode"));
  bad.spec.template.spec.containers[0].ports[0].containerPort = "http";
  assert.throws(() => new Deployment(bad).validate());
});

test("registration does not depend on the router's readiness; probes cannot deadlock", () => {
  const objs = rendered.base;
  const internal = find(objs, "Service", "pdserve-router-internal");
  assert.equal(internal.spec.publishNotReadyAddresses, true);
  const router = container(objs, "pdserve-router");
  assert.equal(router.readinessProbe.httpGet.path, "/health");
  assert.equal(router.livenessProbe.httpGet.path, "/livez");
  for (const role of ["prefill", "decode"]) {
    const c = container(objs, `pdserve-${role}`);
    const at = c.args.indexOf("--register-with");
    assert.equal(c.args[at + 1], "pdserve-router-internal:8000", role);
    assert.equal(c.livenessProbe.httpGet.path, "/livez", role);
    assert.equal(find(objs, "Service", `pdserve-${role}`).spec.clusterIP, "None");
  }
  for (const name of ["pdserve-router", "pdserve-prefill", "pdserve-decode"]) {
    const c = container(objs, name);
    assert.ok(c.resources.requests && c.resources.limits, name);
    assert.equal(c.env.find((e) => e.name === "PDSERVE_CLUSTER_TOKEN").valueFrom.secretKeyRef.name, "pdserve-cluster");
    assert.ok(find(objs, "Deployment", name).spec.template.spec.terminationGracePeriodSeconds >= 30, name);
  }
  const hpa = find(objs, "HorizontalPodAutoscaler", "pdserve-decode");
  assert.equal(hpa.spec.scaleTargetRef.name, "pdserve-decode");
  assert.equal(hpa.spec.metrics[0].pods.metric.name, "vllm_num_requests_waiting");
});

test("the GPU overlay gives each worker a GPU on a GPU node and the CUDA image", () => {
  for (const role of ["prefill", "decode"]) {
    const d = find(rendered.gpu, "Deployment", `pdserve-${role}`);
    const c = d.spec.template.spec.containers[0];
    assert.equal(c.resources.limits["nvidia.com/gpu"], 1, role);
    assert.equal(d.spec.template.spec.nodeSelector["nvidia.com/gpu.present"], "true");
    assert.ok(c.args.includes("--device=cuda"), role);
    assert.ok(c.args.includes("--register-with"), "base arguments kept");
    assert.equal(c.image, "pdserve-cuda:latest");
  }
  assert.equal(container(rendered.gpu, "pdserve-router").resources.limits["nvidia.com/gpu"], undefined);
});

async function status(url) {
  return (await fetch(url).catch(() => ({ status: 0 }))).status;
}

test("the probes on a router with no workers, then a registered decode worker", async () => {
  const router = container(rendered.base, "pdserve-router");
  const decode = container(rendered.base, "pdserve-decode");
  const env = { ...process.env, PDSERVE_CLUSTER_TOKEN: "probe-test" };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  procs.push(spawn(pdserve, ["router", "--model", model, "--port", String(port)], { env, stdio: "ignore" }));
  await until(async () => (await status(url + router.startupProbe.httpGet.path)) === 200, 30000, "the router to start");
  // Alive, not ready: the pod stays out of the client Service and is not restarted.
  assert.equal(await status(url + router.livenessProbe.httpGet.path), 200);
  assert.equal(await status(url + router.readinessProbe.httpGet.path), 503);
  // A decode worker registers through the (not-ready) router and makes it ready.
  const wport = await freePort();
  procs.push(spawn(pdserve, ["decode", "--model", model, "--device", "cpu", "--threads", "1", "--port", String(wport),
    "--register-with", `127.0.0.1:${port}`], { env, stdio: "ignore" }));
  const wurl = `http://127.0.0.1:${wport}`;
  await until(async () => (await status(wurl + decode.startupProbe.httpGet.path)) === 200, 60000, "the decode worker");
  assert.equal(await status(wurl + decode.livenessProbe.httpGet.path), 200);
  assert.equal(await status(wurl + decode.readinessProbe.httpGet.path), 200);
  await until(async () => (await status(url + router.readinessProbe.httpGet.path)) === 200, 60000, "the router to be ready");
  assert.equal(await status(url + router.livenessProbe.httpGet.path), 200);
});
