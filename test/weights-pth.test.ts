/** torchvision-layout VGG16 state dicts saved by torch.save load into the backbone. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { Session } from '../src/index.js';
import { runPython } from './helpers/oracle.js';
import { readSafetensors } from './helpers/safetensors.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('ichnet-pth-');
after(() => rmSync(dir, { recursive: true, force: true })); // ~1 GB of .pth files

// Builds torchvision's own VGG16 (or VGG16-BN), randomises BatchNorm statistics so they are not
// trivially 0/1, and saves its whole state dict with torch.save — as torchvision's published
// `vgg16-397923af.pth` is — and, for comparison, every `features.*` tensor as raw float32.
const SAVE_TORCHVISION = `
import sys, json, torch, torchvision
arch, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
model = getattr(torchvision.models, arch)()
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-1, 1); m.running_var.uniform_(0.5, 2); m.num_batches_tracked.fill_(5)
sd = model.state_dict()
torch.save(sd, out + '.pth')
sums = {k: [float(v.double().sum()), float(v.double().abs().max()), list(v.shape)] for k, v in sd.items()}
print(json.dumps(sums))
`;

for (const arch of ['vgg16', 'vgg16_bn'] as const) {
  describe(`torchvision ${arch} .pth`, () => {
    it('loads features.* into backbone.features.*, reports classifier.* as unexpected', async () => {
      const base = join(dir, arch);
      const reference = JSON.parse(runPython(SAVE_TORCHVISION, [arch, base])) as Record<string, [number, number, number[]]>;
      const session = await Session.create({
        model: { backbone: arch, label_hidden: 8, slice_hidden: 8 },
        prep: { input_size: 32 },
        device: 'cpu',
        threads: 2,
      });
      const report = await session.loadWeights(`${base}.pth`);

      const featureKeys = Object.keys(reference).filter((k) => k.startsWith('features.'));
      assert.equal(featureKeys.length, arch === 'vgg16' ? 26 : 26 + 13 * 5);
      assert.deepEqual(report.loaded.sort(), featureKeys.map((k) => `backbone.${k}`).sort());
      assert.deepEqual(report.unexpected.sort(), Object.keys(reference).filter((k) => k.startsWith('classifier.')).sort());
      assert.ok(report.missing.length > 0 && report.missing.every((k) => /^(label_rnn|slice_rnn)\./.test(k)), report.missing.join());

      // The values arrived unchanged: compare with what PyTorch saved.
      await session.saveWeights(`${base}.safetensors`);
      const saved = readSafetensors(`${base}.safetensors`);
      for (const key of featureKeys) {
        const t = saved.get(`backbone.${key}`);
        assert.ok(t, key);
        const [sum, maxAbs, shape] = reference[key] as [number, number, number[]];
        assert.deepEqual(t.shape, shape, key);
        const ours = t.data.reduce((a, v) => a + v, 0);
        assert.ok(Math.abs(ours - sum) <= 1e-6 * Math.max(1, maxAbs * t.data.length), `${key}: sum ${ours} vs ${sum}`);
        assert.equal(t.data.reduce((a, v) => Math.max(a, Math.abs(v)), 0), maxAbs, `${key}: max |value|`);
      }
    });
  });
}
