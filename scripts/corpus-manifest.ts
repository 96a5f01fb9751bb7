// Writes data/corpus/manifest.json: per-file sha256 and record counts, stories per emotion and split,
// and the overall content hash (see computeCorpusManifest in src/experiments/corpus.ts).
// Usage: node --import tsx scripts/corpus-manifest.ts   (validates the corpus first; writes atomically)
import { renameSync, writeFileSync } from 'node:fs';
import { computeCorpusManifest, CorpusError, manifestPath } from '../src/experiments/corpus.ts';

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function main(): void {
  const manifest = computeCorpusManifest();
  const path = manifestPath();
  writeAtomically(path, JSON.stringify(manifest, null, 1) + '\n');
  const emotions = Object.keys(manifest.emotions).length;
  console.log(`wrote ${path}: ${manifest.files.length} files, ${manifest.stories} stories over ${emotions} emotions, ${manifest.neutral} neutral dialogues, content ${manifest.contentHash.slice(0, 12)}`);
}

try {
  main();
} catch (e) {
  if (e instanceof CorpusError) {
    console.error(`corpus-manifest: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
