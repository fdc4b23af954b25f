// Small DOM builders for PatternFly 6 markup (the classes of @patternfly/patternfly's HTML components), without
// a framework. Nothing here sets a style attribute: Cockpit's Content-Security-Policy forbids inline styles, so
// sizes (the progress bar) are set through the CSSOM.

import closeSvg from '@patternfly/patternfly/icons/PfIcons/close.svg';
import errorSvg from '@patternfly/patternfly/icons/PfIcons/error-circle-o.svg';
import infoSvg from '@patternfly/patternfly/icons/PfIcons/info.svg';
import okSvg from '@patternfly/patternfly/icons/PfIcons/ok.svg';
import imageSvg from '@patternfly/patternfly/icons/PfIcons/os-image.svg';
import warningSvg from '@patternfly/patternfly/icons/PfIcons/warning-triangle.svg';

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, AttrValue>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(name.replace(/^on/, ''), value);
    } else if (name === 'value' && el instanceof HTMLInputElement) {
      el.value = String(value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

/** An element with attributes (`onclick` etc. become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Replaces every child of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  danger: errorSvg,
  info: infoSvg,
  success: okSvg,
  warning: warningSvg,
  close: closeSvg,
  image: imageSvg,
} as const;
export type IconName = keyof typeof ICONS;

/** A PatternFly icon (its SVG file's viewBox and path), sized 1em like PatternFly's own. */
export function icon(name: IconName): SVGSVGElement {
  const text = ICONS[name];
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'pf-v6-svg');
  svg.setAttribute('viewBox', /viewBox="([^"]+)"/.exec(text)?.[1] ?? '0 0 1024 1024');
  svg.setAttribute('fill', 'currentColor');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('role', 'img');
  svg.setAttribute('width', '1em');
  svg.setAttribute('height', '1em');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', /\sd="([^"]+)"/.exec(text)?.[1] ?? '');
  svg.appendChild(path);
  return svg;
}

export type ButtonVariant =
  | 'primary'
  | 'secondary'
  | 'tertiary'
  | 'link'
  | 'plain'
  | 'danger'
  | 'secondary-danger';

/** A PatternFly button. */
export function button(
  text: Child,
  variant: ButtonVariant,
  onclick: (event: Event) => void,
  attrs: Attrs = {},
): HTMLButtonElement {
  const modifiers =
    variant === 'secondary-danger' ? 'pf-m-secondary pf-m-danger' : variant ? `pf-m-${variant}` : '';
  const extra = typeof attrs.class === 'string' ? ` ${attrs.class}` : '';
  return h(
    'button',
    { type: 'button', ...attrs, class: `pf-v6-c-button ${modifiers}${extra}`, onclick },
    h('span', { class: 'pf-v6-c-button__text' }, text),
  );
}

/** Marks a button busy (disabled, with a spinner) or idle again. */
export function setBusy(btn: HTMLButtonElement, busy: boolean): void {
  btn.disabled = busy;
  btn.classList.toggle('pf-m-in-progress', busy);
  btn.classList.toggle('pf-m-progress', busy);
  const existing = btn.querySelector('.pf-v6-c-button__progress');
  if (busy && !existing) {
    btn.prepend(
      h(
        'span',
        { class: 'pf-v6-c-button__progress' },
        h('span', {
          class: 'pf-v6-c-spinner pf-m-md',
          role: 'progressbar',
          'aria-valuetext': 'Loading…',
        }),
      ),
    );
  } else if (!busy) {
    existing?.remove();
  }
}

export type LabelColor = 'blue' | 'green' | 'orange' | 'red' | 'purple' | 'teal' | 'yellow' | 'grey';

/** A PatternFly label (filled, compact when asked). */
export function label(text: Child, color: LabelColor, attrs: Attrs = {}, compact = false): HTMLSpanElement {
  const colorClass = color === 'grey' ? '' : ` pf-m-${color}`;
  const extra = typeof attrs.class === 'string' ? ` ${attrs.class}` : '';
  return h(
    'span',
    { ...attrs, class: `pf-v6-c-label pf-m-filled${colorClass}${compact ? ' pf-m-compact' : ''}${extra}` },
    h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, text)),
  );
}

export type AlertVariant = 'danger' | 'warning' | 'success' | 'info';

/** A PatternFly alert (inline unless it is a toast); `onclose` adds its close button. */
export function alert(
  variant: AlertVariant,
  title: string,
  opts: { description?: Child; onclose?: () => void; attrs?: Attrs; toast?: boolean } = {},
): HTMLDivElement {
  const words = { danger: 'Danger', warning: 'Warning', success: 'Success', info: 'Info' }[variant];
  return h(
    'div',
    {
      ...opts.attrs,
      class: `pf-v6-c-alert${opts.toast ? '' : ' pf-m-inline'} pf-m-${variant}`,
      role: variant === 'danger' ? 'alert' : 'status',
      'aria-label': `${words} alert`,
    },
    h('div', { class: 'pf-v6-c-alert__icon' }, icon(variant)),
    h(
      'p',
      { class: 'pf-v6-c-alert__title' },
      h('span', { class: 'pf-v6-screen-reader' }, `${words} alert:`),
      title,
    ),
    opts.onclose &&
      h(
        'div',
        { class: 'pf-v6-c-alert__action' },
        h(
          'button',
          {
            class: 'pf-v6-c-button pf-m-plain',
            type: 'button',
            'aria-label': `Close ${words.toLowerCase()} alert: ${title}`,
            onclick: opts.onclose,
          },
          h('span', { class: 'pf-v6-c-button__icon' }, icon('close')),
        ),
      ),
    opts.description !== undefined && h('div', { class: 'pf-v6-c-alert__description' }, opts.description),
  );
}

export type ProgressStatus = 'running' | 'success' | 'danger' | 'warning';

/** A small PatternFly progress bar; update it with setProgress. */
export function progress(id: string, description: string): HTMLDivElement {
  const descId = `${id}-description`;
  const helpId = `${id}-helper`;
  return h(
    'div',
    { class: 'pf-v6-c-progress pf-m-sm', id },
    h('div', { class: 'pf-v6-c-progress__description', id: descId }, description),
    h(
      'div',
      { class: 'pf-v6-c-progress__status', 'aria-hidden': 'true' },
      h('span', { class: 'pf-v6-c-progress__measure' }),
    ),
    h(
      'div',
      {
        class: 'pf-v6-c-progress__bar',
        role: 'progressbar',
        'aria-valuemin': '0',
        'aria-valuemax': '100',
        'aria-labelledby': descId,
        'aria-describedby': helpId,
      },
      h('div', { class: 'pf-v6-c-progress__indicator' }),
    ),
    h(
      'div',
      { class: 'pf-v6-c-progress__helper-text' },
      h(
        'div',
        { class: 'pf-v6-c-helper-text', id: helpId },
        h(
          'div',
          { class: 'pf-v6-c-helper-text__item' },
          h('span', { class: 'pf-v6-c-helper-text__item-text' }),
        ),
      ),
    ),
  );
}

/** Sets a progress bar: percent (undefined: unknown, shown as a moving bar), its status and its helper text. */
export function setProgress(
  el: HTMLElement,
  percent: number | undefined,
  status: ProgressStatus,
  helper: string,
): void {
  el.classList.toggle('pf-m-success', status === 'success');
  el.classList.toggle('pf-m-danger', status === 'danger');
  el.classList.toggle('pf-m-warning', status === 'warning');
  el.classList.toggle('bsp-indeterminate', percent === undefined);
  const bar = el.querySelector('.pf-v6-c-progress__bar')!;
  const indicator = el.querySelector<HTMLElement>('.pf-v6-c-progress__indicator')!;
  const measure = el.querySelector('.pf-v6-c-progress__measure')!;
  if (percent === undefined) {
    bar.removeAttribute('aria-valuenow');
    bar.setAttribute('aria-valuetext', 'In progress');
    indicator.style.removeProperty('width');
    measure.textContent = '';
  } else {
    bar.setAttribute('aria-valuenow', String(percent));
    bar.removeAttribute('aria-valuetext');
    indicator.style.setProperty('width', `${percent}%`);
    measure.textContent = `${percent}%`;
  }
  const statusIcon = el.querySelector('.pf-v6-c-progress__status-icon');
  const want = status === 'running' ? undefined : status;
  if (statusIcon?.getAttribute('data-status') !== want) {
    statusIcon?.remove();
    if (want) {
      el.querySelector('.pf-v6-c-progress__status')!.append(
        h('span', { class: 'pf-v6-c-progress__status-icon', 'data-status': want }, icon(want)),
      );
    }
  }
  el.querySelector('.pf-v6-c-helper-text__item-text')!.textContent = helper;
}

/** A PatternFly card with a title, header actions and a body. */
export function card(
  id: string,
  title: string,
  opts: { actions?: Child; body: Child; footer?: Child; description?: Child },
): HTMLElement {
  return h(
    'section',
    { class: 'pf-v6-c-card', id, 'aria-labelledby': `${id}-title` },
    h(
      'div',
      { class: 'pf-v6-c-card__header' },
      h(
        'div',
        { class: 'pf-v6-c-card__header-main' },
        h(
          'div',
          { class: 'pf-v6-c-card__title' },
          h('h2', { class: 'pf-v6-c-card__title-text', id: `${id}-title` }, title),
          opts.description !== undefined && h('div', { class: 'pf-v6-c-card__subtitle' }, opts.description),
        ),
      ),
      opts.actions !== undefined && h('div', { class: 'pf-v6-c-card__actions' }, opts.actions),
    ),
    h('div', { class: 'pf-v6-c-card__body' }, opts.body),
    opts.footer !== undefined && h('div', { class: 'pf-v6-c-card__footer' }, opts.footer),
  );
}

export interface Column {
  title: string;
  /** `pf-m-width-20` and the like, or `pf-v6-c-table__action` for the actions column. */
  class?: string;
  /** A column without a header text (actions): its label is for screen readers only. */
  screenReaderOnly?: boolean;
}

/**
 * A PatternFly table that becomes a grid of labelled cells when its container is narrow (PatternFly's
 * `pf-m-grid-md` follows the width of the `pf-v6-contain-table` container the wrapper creates).
 */
export function table(ariaLabel: string, columns: Column[], body: HTMLTableSectionElement): HTMLDivElement {
  return h(
    'div',
    { class: 'bsp-table' },
    h(
      'table',
      { class: 'pf-v6-c-table pf-m-grid-md pf-m-compact', role: 'grid', 'aria-label': ariaLabel },
      h(
        'thead',
        { class: 'pf-v6-c-table__thead' },
        h(
          'tr',
          { class: 'pf-v6-c-table__tr', role: 'row' },
          columns.map((c) =>
            h(
              'th',
              {
                class: `pf-v6-c-table__th${c.class ? ` ${c.class}` : ''}`,
                role: 'columnheader',
                scope: 'col',
              },
              c.screenReaderOnly ? h('span', { class: 'pf-v6-screen-reader' }, c.title) : c.title,
            ),
          ),
        ),
      ),
      body,
    ),
  );
}

export const tbody = (): HTMLTableSectionElement =>
  h('tbody', { class: 'pf-v6-c-table__tbody', role: 'rowgroup' });

/** A table row. */
export const tr = (attrs: Attrs, ...cells: Child[]): HTMLTableRowElement =>
  h(
    'tr',
    { ...attrs, class: `pf-v6-c-table__tr${attrs.class ? ` ${attrs.class}` : ''}`, role: 'row' },
    cells,
  );

/** A table cell with its column's name as data-label (shown in the narrow layout). */
export const td = (dataLabel: string, attrs: Attrs, ...children: Child[]): HTMLTableCellElement =>
  h(
    'td',
    {
      ...attrs,
      class: `pf-v6-c-table__td${attrs.class ? ` ${attrs.class}` : ''}`,
      role: 'cell',
      'data-label': dataLabel,
    },
    children,
  );

/** The actions cell of a row: no label; in the narrow layout it sits at the row's top right. */
export const tdAction = (...children: Child[]): HTMLTableCellElement =>
  h('td', { class: 'pf-v6-c-table__td pf-v6-c-table__action', role: 'cell' }, children);

/** A small PatternFly empty state. */
export function emptyState(title: string, body?: Child, actions?: Child): HTMLDivElement {
  return h(
    'div',
    { class: 'pf-v6-c-empty-state pf-m-xs' },
    h(
      'div',
      { class: 'pf-v6-c-empty-state__content' },
      h(
        'div',
        { class: 'pf-v6-c-empty-state__header' },
        h('div', { class: 'pf-v6-c-empty-state__icon' }, icon('image')),
        h(
          'div',
          { class: 'pf-v6-c-empty-state__title' },
          h('h3', { class: 'pf-v6-c-empty-state__title-text' }, title),
        ),
      ),
      body !== undefined && h('div', { class: 'pf-v6-c-empty-state__body' }, body),
      actions !== undefined &&
        h(
          'div',
          { class: 'pf-v6-c-empty-state__footer' },
          h('div', { class: 'pf-v6-c-empty-state__actions' }, actions),
        ),
    ),
  );
}

/**
 * A modal dialog (PatternFly modal box on a backdrop). Resolves true when the confirm button is pressed, false
 * on Cancel, Escape or the close button.
 */
export function confirmDialog(opts: {
  id: string;
  title: string;
  body: Child;
  confirm: string;
  variant: 'danger' | 'warning';
}): Promise<boolean> {
  return new Promise((resolve) => {
    const previous = document.activeElement as HTMLElement | null;
    const done = (answer: boolean) => {
      document.removeEventListener('keydown', onKey);
      backdrop.remove();
      previous?.focus();
      resolve(answer);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') done(false);
    };
    const titleId = `${opts.id}-title`;
    const confirm = button(opts.confirm, opts.variant === 'danger' ? 'danger' : 'primary', () => done(true), {
      id: `${opts.id}-confirm`,
    });
    const backdrop = h(
      'div',
      { class: 'pf-v6-c-backdrop' },
      h(
        'div',
        { class: 'pf-v6-l-bullseye' },
        h(
          'div',
          {
            class: `pf-v6-c-modal-box pf-m-sm pf-m-${opts.variant}`,
            role: 'dialog',
            'aria-modal': 'true',
            'aria-labelledby': titleId,
            id: opts.id,
          },
          h(
            'div',
            { class: 'pf-v6-c-modal-box__close' },
            h(
              'button',
              {
                class: 'pf-v6-c-button pf-m-plain',
                type: 'button',
                'aria-label': 'Close',
                onclick: () => done(false),
              },
              h('span', { class: 'pf-v6-c-button__icon' }, icon('close')),
            ),
          ),
          h(
            'header',
            { class: 'pf-v6-c-modal-box__header' },
            h(
              'div',
              { class: 'pf-v6-c-modal-box__header-main' },
              h(
                'h1',
                { class: 'pf-v6-c-modal-box__title pf-m-icon', id: titleId },
                h('span', { class: 'pf-v6-c-modal-box__title-icon' }, icon(opts.variant)),
                h('span', { class: 'pf-v6-c-modal-box__title-text' }, opts.title),
              ),
            ),
          ),
          h('div', { class: 'pf-v6-c-modal-box__body' }, opts.body),
          h(
            'footer',
            { class: 'pf-v6-c-modal-box__footer' },
            confirm,
            button('Cancel', 'link', () => done(false), { id: `${opts.id}-cancel` }),
          ),
        ),
      ),
    );
    document.addEventListener('keydown', onKey);
    document.body.append(backdrop);
    confirm.focus();
  });
}
