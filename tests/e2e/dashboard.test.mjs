// Every series that deploy/grafana/pdserve.json's PromQL names is exported by
// a running cluster (`pdserve serve` on the demo model), except those listed
// in exportedOnlyWith (each one named by the dashboard, with its reason).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster } from "./cluster.mjs";
import { dashboard, expressions, exportedOnlyWith, sampleNames, seriesNames } from "./dashboard.mjs";

const cluster = new Cluster();
before(async () => cluster.start());
after(async () => cluster.stop());

test("the dashboard's expressions name only series the cluster exports", async () => {
  const exported = new Set();
  for (const url of [cluster.url, cluster.workers.decode, cluster.workers.prefill]) {
    const r = await fetch(url + "/metrics");
    assert.equal(r.status, 200);
    for (const name of sampleNames(await r.text())) exported.add(name);
  }
  const named = new Set(expressions().flatMap(seriesNames));
  assert.ok(named.size >= 20, [...named].join(" "));
  const missing = [...named].filter((n) => !exported.has(n) && !(n in exportedOnlyWith));
  assert.deepEqual(missing, [], "named by the dashboard, exported by no process");
  for (const n of Object.keys(exportedOnlyWith)) assert.ok(named.has(n), `${n} is no longer used`);
});

test("every panel has a query and the panels do not overlap", () => {
  const cells = new Set();
  for (const p of dashboard.panels) {
    assert.ok(p.targets.length > 0 && p.targets.every((t) => t.expr), p.title);
    const { x, y, w, h } = p.gridPos;
    for (let i = x; i < x + w; i++) {
      for (let j = y; j < y + h; j++) {
        assert.ok(!cells.has(`${i},${j}`), `${p.title} overlaps another panel`);
        cells.add(`${i},${j}`);
      }
    }
  }
});
