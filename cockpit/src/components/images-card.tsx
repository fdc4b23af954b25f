// The Images section: every image of the store (List), its count and total size, and who needs each one
// (the bound images that name it and the reasons of PreviewGarbageCollect).
import { memo, useMemo } from 'react';
import type { ReadState } from '../daemon-store.js';
import { _ } from '../gettext.js';
import {
  type BoundImage,
  type ImageInfo,
  imageOrder,
  imagesSummary,
  type PreviewEntry,
  usagesByImage,
} from '../model.js';
import { ImageRow } from './image-row.js';
import { ListOrEmpty } from './list-or-empty.js';
import { SectionCard } from './section-card.js';
import { type Column, SectionTable } from './section-table.js';

const COLUMNS: Column[] = [
  { title: _('Image'), width: 30 },
  { title: _('ID') },
  { title: _('Size') },
  { title: _('Created') },
  { title: _('Used by'), width: 25 },
  { title: _('Actions'), action: true },
];

/** The store's images, sorted by name. */
export const ImagesCard = memo(function ImagesCard(props: {
  read: ReadState;
  images: ImageInfo[];
  bound: BoundImage[];
  preview: PreviewEntry[];
}) {
  const { read, images, bound, preview } = props;
  const usages = useMemo(() => usagesByImage(images, bound, preview), [images, bound, preview]);
  const now = Date.now();
  return (
    <SectionCard id="images" title={_('Images')}>
      <ListOrEmpty
        read={read}
        empty={images.length === 0}
        title={_('No images')}
        why={_('The store holds no images.')}
      >
        <p className="bsp-muted bsp-summary" id="images-summary">
          {imagesSummary(images, _)}
        </p>
        <SectionTable label={_('Images')} columns={COLUMNS}>
          {imageOrder(images).map((image) => (
            <ImageRow
              key={image.id}
              image={image}
              uses={usages.get(image.id) ?? []}
              bound={bound.some((b) => image.names.includes(b.image))}
              now={now}
            />
          ))}
        </SectionTable>
      </ListOrEmpty>
    </SectionCard>
  );
});
