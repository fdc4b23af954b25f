// `list`: the images in the store, as a table (one row per name) or JSON (one entry per image).

import { callMethod } from '../bus-client.js';
import { toCliError } from '../cli-error.js';
import { type CommandContext, writeJson } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatAge, formatBytes, formatTable, shortenId } from '../format.js';

export interface ImageSummary {
  id: string;
  names: string[];
  digest: string;
  size: number;
  /** Seconds since the Unix epoch. */
  created: number;
  /** The same instant, ISO 8601 UTC. */
  createdAt: string;
}

export async function fetchImages(ctx: CommandContext): Promise<ImageSummary[]> {
  const [images] = (await callMethod(ctx.client, 'List')) as [[string, string[], string, bigint, bigint][]];
  return (images ?? []).map(([id, names, digest, size, created]) => ({
    id,
    names,
    digest,
    size: Number(size),
    created: Number(created),
    createdAt: new Date(Number(created) * 1000).toISOString(),
  }));
}

export async function runList(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  let images: ImageSummary[];
  try {
    images = await fetchImages(ctx);
  } catch (err) {
    throw toCliError(err, 'cannot list images', { member: 'List', noAskPassword: ctx.noAskPassword });
  }
  if (opts.json) {
    writeJson(ctx.stdout, images);
    return EXIT.OK;
  }
  if (images.length === 0) {
    ctx.stdout.write('No images.\n');
    return EXIT.OK;
  }
  const rows: string[][] = [];
  for (const image of [...images].sort((a, b) => b.created - a.created)) {
    const names = image.names.length > 0 ? [...image.names].sort() : ['<none>'];
    for (const name of names) {
      rows.push([name, shortenId(image.id), formatBytes(image.size), formatAge(image.created)]);
    }
  }
  ctx.stdout.write(formatTable(['NAME', 'ID', 'SIZE', 'CREATED'], rows));
  return EXIT.OK;
}
