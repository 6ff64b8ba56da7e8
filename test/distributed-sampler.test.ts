/**
 * Data-parallel sharding against PyTorch's own DistributedSampler (Debian's python3-torch), and
 * torchrun's environment parsing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { placementFromEnv } from '../src/distributed/env.js';
import { evaluationShard, shardIndices } from '../src/data/shard.js';
import { runPython } from './helpers/oracle.js';

/** PyTorch's DistributedSampler(shuffle=False, drop_last=False) over `order`, for every rank. */
function torchShards(order: number[], world: number): number[][] {
  const code = `
import json, sys
from torch.utils.data.distributed import DistributedSampler
order, world = json.loads(sys.argv[1]), int(sys.argv[2])
print(json.dumps([[order[i] for i in DistributedSampler(order, num_replicas=world, rank=r, shuffle=False)] for r in range(world)]))
`;
  return JSON.parse(runPython(code, [JSON.stringify(order), String(world)])) as number[][];
}

describe('DistributedSampler semantics', () => {
  for (const [count, world] of [
    [10, 2],
    [11, 2],
    [7, 3],
    [5, 8],
    [1, 2],
  ] as const) {
    it(`${count} patients over ${world} ranks: PyTorch's padding and striding of one permutation per epoch`, () => {
      const epoch = 3;
      const shards = Array.from({ length: world }, (_, rank) => shardIndices(count, { seed: 42, epoch, rank, worldSize: world, shuffle: true }));
      // Rank 0's view of the permutation, reconstructed from all shards, is the same on every rank
      // (each rank computes it alone): feed it to PyTorch's sampler without shuffling.
      const permutation: number[] = [];
      for (let i = 0; permutation.length < count; i++) permutation.push(shards[i % world]![Math.floor(i / world)]!);
      assert.deepEqual([...permutation].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i), 'a permutation of every patient');
      assert.deepEqual(shards, torchShards(permutation, world));
      const steps = new Set(shards.map((s) => s.length));
      assert.equal(steps.size, 1, 'every rank gets the same number of patients');
    });
  }

  it('a new permutation each epoch, the same for a seed and epoch', () => {
    const a = shardIndices(50, { seed: 1, epoch: 0, rank: 0, worldSize: 2, shuffle: true });
    assert.deepEqual(a, shardIndices(50, { seed: 1, epoch: 0, rank: 0, worldSize: 2, shuffle: true }));
    assert.notDeepEqual(a, shardIndices(50, { seed: 1, epoch: 1, rank: 0, worldSize: 2, shuffle: true }));
    assert.notDeepEqual(a, shardIndices(50, { seed: 2, epoch: 0, rank: 0, worldSize: 2, shuffle: true }));
  });

  it('evaluation shards hold every patient exactly once', () => {
    const items = Array.from({ length: 9 }, (_, i) => `p${i}`);
    const shards = [0, 1, 2, 3].map((r) => evaluationShard(items, r, 4));
    assert.deepEqual(shards.flat().sort(), [...items].sort());
  });
});

describe("torchrun's environment", () => {
  const full = { MASTER_ADDR: 'node1', MASTER_PORT: '29500', RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2' };

  it('reads a full set; none set means one process', () => {
    assert.deepEqual(placementFromEnv(full), { masterAddr: 'node1', masterPort: 29500, rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2 });
    assert.equal(placementFromEnv({}), null);
  });

  it('names what is missing or wrong', () => {
    assert.throws(() => placementFromEnv({ RANK: '0', WORLD_SIZE: '2' }), /MASTER_ADDR, MASTER_PORT not set/);
    assert.throws(() => placementFromEnv({ ...full, RANK: '4' }), /RANK="4": expected an integer in 0\.\.3/);
    assert.throws(() => placementFromEnv({ ...full, MASTER_PORT: '70000' }), /MASTER_PORT/);
    assert.throws(() => placementFromEnv({ ...full, WORLD_SIZE: 'two' }), /WORLD_SIZE/);
  });
});
