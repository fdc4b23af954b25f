// The page: deployments with their bound images, the job list with the pull form, every image, and garbage
// collection. State lives here; each section re-renders from it, except the job rows, which are updated in
// place (progress arrives up to ten times a second, and a row must not be replaced under the pointer).

import {
  alert,
  button,
  type Child,
  card,
  confirmDialog,
  emptyState,
  fill,
  h,
  type LabelColor,
  label,
  type ProgressStatus,
  progress,
  setBusy,
  setProgress,
  table,
  tbody,
  td,
  tdAction,
  tr,
} from './dom.js';
import {
  type BoundImage,
  cancelable,
  type Deployment,
  formatAge,
  formatBytes,
  type ImageInfo,
  isFinal,
  type Job,
  jobDetail,
  jobPercent,
  jobTitle,
  type PreviewEntry,
  shortDeployment,
  shortId,
  splitReasons,
  stateWord,
  type Usage,
  usagesByImage,
} from './model.js';
import { StorageClient, toStorageError } from './storage.js';

const _ = (s: string) => cockpit.gettext(s);

const ROLE_COLORS: Record<string, LabelColor> = {
  booted: 'blue',
  staged: 'purple',
  rollback: 'orange',
  other: 'grey',
  pending: 'teal',
};
const STATE_COLORS: Record<string, LabelColor> = {
  queued: 'grey',
  running: 'blue',
  blocked: 'orange',
  done: 'green',
  failed: 'red',
  canceled: 'orange',
};
const POLICIES = [
  ['missing', 'If missing'],
  ['always', 'Always'],
  ['newer', 'If newer'],
] as const;

interface AlertItem {
  id: number;
  title: string;
  errorName: string;
}

export class App {
  private readonly storage: StorageClient;
  private deployments: Deployment[] = [];
  private bound: BoundImage[] = [];
  private images: ImageInfo[] = [];
  private previewAtLoad: PreviewEntry[] = [];
  /** The GC preview the user asked for (null: not asked, or stale after the store changed and not re-read). */
  private gcPreview: PreviewEntry[] | null = null;
  private loaded = false;
  private loadError: string | null = null;
  private alerts: AlertItem[] = [];
  private alertSeq = 0;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private deploymentsKey = '';
  /** The unique bus name owning org.bootc.Storage (undefined until the first report, null when unowned). */
  private owner: string | null | undefined = undefined;

  private readonly root: HTMLElement;
  private readonly headerInfo = h('p', { class: 'pf-v6-c-content--p bsp-subtitle', id: 'store-info' });
  /** Errors of the user's actions: toasts, seen wherever the page is scrolled to. */
  private readonly alertGroup = h('ul', {
    class: 'pf-v6-c-alert-group pf-m-toast',
    role: 'list',
    id: 'alerts',
    'aria-live': 'polite',
  });
  /** Why the store cannot be read, at the top of the page. */
  private readonly loadErrorBox = h('div', { id: 'load-error-box' });
  private readonly deploymentsBody = h('div', { class: 'bsp-card-content' });
  private readonly imagesBody = h('div', { class: 'bsp-card-content' });
  private readonly gcBody = h('div', { class: 'bsp-card-content' });
  private readonly jobsTbody = tbody();
  private readonly jobsEmpty = h(
    'p',
    { id: 'jobs-empty', class: 'bsp-muted' },
    _('No jobs. Pulls, removals and garbage collections show here while they run.'),
  );
  private readonly jobsTable = table(
    _('Jobs'),
    [
      { title: _('Job'), class: 'pf-m-width-30' },
      { title: _('State'), class: 'pf-m-width-15' },
      { title: _('Progress') },
      { title: _('Actions'), class: 'pf-v6-c-table__action', screenReaderOnly: true },
    ],
    this.jobsTbody,
  );
  private readonly jobRows = new Map<string, HTMLTableRowElement>();
  private readonly pullInput = h('input', {
    type: 'text',
    id: 'pull-image',
    name: 'image',
    placeholder: 'quay.io/fedora/fedora-bootc:42',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-label': _('Image reference'),
  });
  private readonly pullPolicy = h(
    'select',
    { id: 'pull-policy', name: 'policy', 'aria-label': _('Pull policy') },
    POLICIES.map(([value, text]) => h('option', { value }, _(text))),
  );
  private readonly pullButton = h(
    'button',
    { type: 'submit', class: 'pf-v6-c-button pf-m-primary', id: 'pull-submit' },
    h('span', { class: 'pf-v6-c-button__text' }, _('Pull')),
  );
  private readonly previewButton = button(_('Preview'), 'secondary', () => void this.runPreview(), {
    id: 'gc-preview',
  });
  private readonly gcButton = button(_('Run garbage collection'), 'danger', () => void this.runGc(), {
    id: 'gc-run',
  });

  constructor(root: HTMLElement) {
    this.root = root;
    this.storage = new StorageClient({
      jobs: () => this.renderJobs(),
      storeChanged: () => void this.refresh(),
      owner: (owner) => this.ownerChanged(owner),
    });
  }

  async start(): Promise<void> {
    this.layout();
    this.renderAll();
    void this.readProperties();
    await Promise.all([
      this.storage.start().catch((err: unknown) => this.showError(toStorageError(err))),
      this.refresh(),
    ]);
  }

  private layout(): void {
    const pullForm = h(
      'form',
      {
        class: 'pf-v6-c-form bsp-pull-form',
        id: 'pull-form',
        novalidate: true,
        'aria-label': _('Pull an image'),
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.submitPull();
        },
      },
      h(
        'div',
        { class: 'pf-v6-c-form__group bsp-pull-image' },
        h(
          'div',
          { class: 'pf-v6-c-form__group-label' },
          h(
            'label',
            { class: 'pf-v6-c-form__label', for: 'pull-image' },
            h('span', { class: 'pf-v6-c-form__label-text' }, _('Image')),
          ),
        ),
        h(
          'div',
          { class: 'pf-v6-c-form__group-control' },
          h('span', { class: 'pf-v6-c-form-control' }, this.pullInput),
        ),
      ),
      h(
        'div',
        { class: 'pf-v6-c-form__group bsp-pull-policy' },
        h(
          'div',
          { class: 'pf-v6-c-form__group-label' },
          h(
            'label',
            { class: 'pf-v6-c-form__label', for: 'pull-policy' },
            h('span', { class: 'pf-v6-c-form__label-text' }, _('Policy')),
          ),
        ),
        h(
          'div',
          { class: 'pf-v6-c-form__group-control' },
          h(
            'span',
            { class: 'pf-v6-c-form-control' },
            this.pullPolicy,
            h(
              'span',
              { class: 'pf-v6-c-form-control__utilities' },
              h('span', { class: 'pf-v6-c-form-control__toggle-icon' }, h('span', { class: 'bsp-caret' })),
            ),
          ),
        ),
      ),
      h('div', { class: 'pf-v6-c-form__group bsp-pull-action' }, this.pullButton),
    );
    this.pullInput.addEventListener('input', () => this.updatePullButton());
    this.updatePullButton();

    fill(
      this.root,
      h(
        'div',
        { class: 'pf-v6-c-page bsp-page' },
        h(
          'div',
          { class: 'pf-v6-c-page__main-container' },
          h(
            'main',
            { class: 'pf-v6-c-page__main', tabindex: '-1' },
            h(
              'section',
              { class: 'pf-v6-c-page__main-section pf-m-secondary bsp-header' },
              h('h1', { class: 'pf-v6-c-title pf-m-2xl' }, _('bootc image store')),
              this.headerInfo,
            ),
            h(
              'section',
              { class: 'pf-v6-c-page__main-section pf-m-secondary bsp-cards' },
              this.loadErrorBox,
              card('deployments', _('Deployments'), {
                description: _('Each deployment and the images it binds (usr/lib/bootc/bound-images.d).'),
                body: this.deploymentsBody,
              }),
              card('jobs', _('Jobs'), {
                body: [pullForm, this.jobsEmpty, this.jobsTable],
              }),
              card('images', _('Images'), { body: this.imagesBody }),
              card('gc', _('Garbage collection'), {
                description: _(
                  'Removes every image that no deployment binds or boots from, as bootc does after an update.',
                ),
                actions: [this.previewButton, this.gcButton],
                body: this.gcBody,
              }),
            ),
          ),
        ),
      ),
      this.alertGroup,
    );
  }

  /**
   * The daemon's bus name changed hands. Its first report only says who owns it now (start() reads everything
   * anyway); later, a daemon that exited took its job objects with it, and a new one is read afresh.
   */
  private ownerChanged(owner: string | null): void {
    const previous = this.owner;
    this.owner = owner;
    if (previous === undefined || previous === owner) return;
    this.storage.jobs.clear();
    this.renderJobs();
    if (owner) {
      void this.storage.loadJobs().catch(() => undefined);
      void this.storage.keepInformed();
      void this.refresh();
      void this.readProperties();
    }
  }

  private updatePullButton(): void {
    this.pullButton.disabled = this.pullInput.value.trim() === '';
  }

  // ---- data ----

  private async readProperties(): Promise<void> {
    try {
      const { version, storePath } = await this.storage.properties();
      fill(
        this.headerInfo,
        _('Logically bound images, in '),
        h('code', { class: 'bsp-mono' }, storePath || '?'),
        version ? ` · bootc-storaged ${version}` : '',
      );
    } catch {
      // The load error (refresh) says why.
    }
  }

  /** Reads deployments, bound images, images and the GC reasons; coalesces calls made while one runs. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          const snap = await this.storage.snapshot();
          this.deployments = snap.deployments;
          this.bound = snap.bound;
          this.images = snap.images;
          this.previewAtLoad = snap.preview;
          if (this.gcPreview) this.gcPreview = snap.preview;
          this.loadError = null;
        } catch (err) {
          this.loadError = toStorageError(err).message;
        }
        this.loaded = true;
        this.renderAll();
      } while (this.refreshAgain);
      this.refreshing = null;
    })();
    return this.refreshing;
  }

  // ---- actions ----

  private async submitPull(): Promise<void> {
    const image = this.pullInput.value.trim();
    if (!image) return;
    setBusy(this.pullButton, true);
    try {
      await this.storage.startPull(image, this.pullPolicy.value);
      this.pullInput.value = '';
    } catch (err) {
      this.showError(toStorageError(err));
    } finally {
      setBusy(this.pullButton, false);
      this.updatePullButton();
    }
  }

  private async pullMissing(btn: HTMLButtonElement, deployment: string): Promise<void> {
    setBusy(btn, true);
    try {
      await this.storage.startSyncBoundImages(deployment);
    } catch (err) {
      this.showError(toStorageError(err));
      setBusy(btn, false);
    }
  }

  private async removeImage(btn: HTMLButtonElement, image: ImageInfo): Promise<void> {
    const what = image.names[0] ?? shortId(image.id);
    const ok = await confirmDialog({
      id: 'remove-dialog',
      title: _('Remove image?'),
      body: [
        h(
          'p',
          {},
          `${what} (${shortId(image.id)}, ${formatBytes(image.size)}) `,
          _('is removed from the store.'),
        ),
        this.boundBy(image).length > 0 &&
          h('p', {}, _('A deployment binds it: "Pull missing" pulls it again.')),
      ],
      confirm: _('Remove'),
      variant: 'danger',
    });
    if (!ok) return;
    setBusy(btn, true);
    try {
      await this.storage.startRemove([image.id]);
    } catch (err) {
      this.showError(toStorageError(err));
      setBusy(btn, false);
    }
  }

  private async runPreview(): Promise<void> {
    setBusy(this.previewButton, true);
    try {
      this.gcPreview = await this.storage.preview();
      this.renderGc();
    } catch (err) {
      this.showError(toStorageError(err));
    } finally {
      setBusy(this.previewButton, false);
    }
  }

  private async runGc(): Promise<void> {
    const preview = this.gcPreview ?? (await this.storage.preview().catch(() => null));
    const removed = preview?.filter((p) => !p.kept).length;
    const ok = await confirmDialog({
      id: 'gc-dialog',
      title: _('Run garbage collection?'),
      body: h(
        'p',
        {},
        removed === undefined
          ? _('Every image that no deployment references is removed.')
          : removed === 1
            ? _('1 image that no deployment references is removed.')
            : `${removed} ${_('images that no deployment references are removed.')}`,
      ),
      confirm: _('Remove unreferenced images'),
      variant: 'danger',
    });
    if (!ok) return;
    setBusy(this.gcButton, true);
    try {
      await this.storage.startGarbageCollect();
    } catch (err) {
      this.showError(toStorageError(err));
    } finally {
      setBusy(this.gcButton, false);
    }
  }

  private async cancelJob(btn: HTMLButtonElement, job: Job): Promise<void> {
    setBusy(btn, true);
    try {
      await this.storage.cancel(job.id);
    } catch (err) {
      this.showError(toStorageError(err));
      setBusy(btn, false);
    }
  }

  private showError(err: { message: string; errorName: string }): void {
    // The newest few; older ones the user did not close make room.
    this.alerts = [
      ...this.alerts,
      { id: ++this.alertSeq, title: err.message, errorName: err.errorName },
    ].slice(-4);
    this.renderAlerts();
  }

  // ---- rendering ----

  private renderAll(): void {
    this.renderAlerts();
    this.renderDeployments(true);
    this.renderImages();
    this.renderGc();
    this.renderJobs();
  }

  private renderAlerts(): void {
    fill(
      this.loadErrorBox,
      this.loadError &&
        alert('danger', `${_('Cannot read the image store')}: ${this.loadError}`, {
          attrs: { id: 'load-error' },
          description: button(_('Try again'), 'link', () => void this.refresh(), { class: 'pf-m-inline' }),
        }),
    );
    this.loadErrorBox.hidden = !this.loadError;
    const items: Child[] = [];
    for (const a of this.alerts) {
      items.push(
        alert('danger', a.title, {
          toast: true,
          attrs: { id: `alert-${a.id}`, 'data-error-name': a.errorName },
          onclose: () => {
            this.alerts = this.alerts.filter((x) => x.id !== a.id);
            this.renderAlerts();
          },
        }),
      );
    }
    fill(
      this.alertGroup,
      items.map((item) => h('li', { class: 'pf-v6-c-alert-group__item' }, item)),
    );
    this.alertGroup.hidden = items.length === 0;
  }

  /** Deployments re-render when their data or the set of running syncs changes (not on every progress step). */
  private renderDeployments(force = false): void {
    const syncing = new Set(
      this.storage.jobs
        .list()
        .filter((j) => j.kind === 'sync' && !isFinal(j))
        .map((j) => j.target),
    );
    const key = [...syncing].sort().join(' ');
    if (!force && key === this.deploymentsKey) return;
    this.deploymentsKey = key;
    if (!this.loaded) {
      fill(this.deploymentsBody, h('p', { class: 'bsp-muted' }, _('Loading…')));
      return;
    }
    if (this.deployments.length === 0) {
      fill(
        this.deploymentsBody,
        emptyState(
          _('No deployments'),
          this.loadError ? this.loadError : _('The sysroot has no ostree deployments.'),
        ),
      );
      return;
    }
    const body = tbody();
    for (const d of this.deployments) {
      const bound = this.bound.filter((b) => b.deployment === d.deployment);
      const missing = bound.filter((b) => !b.present);
      const running = syncing.has(d.deployment) || syncing.has('');
      // A fetched update not yet staged: pulling its bound images now prepares it (bootc finds them present).
      const pending = d.role === 'pending';
      const pull = button(
        pending ? _('Prepare update') : _('Pull missing'),
        pending ? 'primary' : 'secondary',
        () => void this.pullMissing(pull, d.deployment),
        {
          'data-action': pending ? 'prepare-update' : 'pull-missing',
          'aria-label': `${pending ? _('Pull the bound images of the pending update') : _('Pull missing images of')} ${shortDeployment(d.deployment)}`,
        },
      );
      if (running) setBusy(pull, true);
      body.append(
        tr(
          { 'data-deployment': d.deployment, 'data-role': d.role },
          td(
            _('Deployment'),
            {},
            h('span', { class: 'bsp-mono', title: d.deployment }, shortDeployment(d.deployment)),
          ),
          td(_('Role'), {}, label(d.role, ROLE_COLORS[d.role] ?? 'grey')),
          td(
            _('Host image'),
            { class: 'bsp-break' },
            d.hostImage || h('span', { class: 'bsp-muted' }, _('none')),
          ),
          td(
            _('Bound images'),
            { class: 'bsp-break' },
            bound.length === 0
              ? h('span', { class: 'bsp-muted' }, _('none'))
              : h(
                  'ul',
                  { class: 'bsp-bound' },
                  bound.map((b) =>
                    h(
                      'li',
                      { 'data-image': b.image, 'data-present': String(b.present), title: b.file },
                      h('span', { class: 'bsp-ref' }, b.image),
                      ' ',
                      b.present
                        ? label(_('Present'), 'green', { class: 'bsp-presence' }, true)
                        : label(_('Missing'), 'red', { class: 'bsp-presence' }, true),
                    ),
                  ),
                ),
          ),
          tdAction(missing.length > 0 || running ? pull : null),
        ),
      );
    }
    fill(
      this.deploymentsBody,
      table(
        _('Deployments'),
        [
          { title: _('Deployment'), class: 'pf-m-width-15' },
          { title: _('Role'), class: 'pf-m-width-10' },
          { title: _('Host image'), class: 'pf-m-width-25' },
          { title: _('Bound images') },
          { title: _('Actions'), class: 'pf-v6-c-table__action', screenReaderOnly: true },
        ],
        body,
      ),
    );
  }

  private boundBy(image: ImageInfo): BoundImage[] {
    return this.bound.filter((b) => image.names.includes(b.image));
  }

  private usageText(u: Usage): Child {
    if (u.kind === 'unused') return label(_('Unused'), 'orange', { class: 'bsp-unused' }, true);
    const dep = h('span', { class: 'bsp-mono', title: u.deployment }, shortDeployment(u.deployment));
    if (u.kind === 'host') return h('span', {}, _('host image of '), dep);
    const file = u.file.split('/').at(-1) ?? u.file;
    return h('span', { title: u.file }, dep, ` (${file})`);
  }

  private renderImages(): void {
    if (!this.loaded) {
      fill(this.imagesBody, h('p', { class: 'bsp-muted' }, _('Loading…')));
      return;
    }
    if (this.images.length === 0) {
      fill(
        this.imagesBody,
        emptyState(_('No images'), this.loadError ? this.loadError : _('The store holds no images.')),
      );
      return;
    }
    const usages = usagesByImage(this.images, this.bound, this.previewAtLoad);
    const now = Date.now();
    const body = tbody();
    const sorted = [...this.images].sort((a, b) => (a.names[0] ?? '~').localeCompare(b.names[0] ?? '~'));
    for (const image of sorted) {
      const remove = button(_('Remove'), 'secondary-danger', () => void this.removeImage(remove, image), {
        'data-action': 'remove',
        'aria-label': `${_('Remove')} ${image.names[0] ?? shortId(image.id)}`,
      });
      const uses = usages.get(image.id) ?? [];
      body.append(
        tr(
          { 'data-id': image.id },
          td(
            _('Image'),
            { class: 'bsp-break' },
            image.names.length
              ? image.names.map((n) => h('div', { class: 'bsp-ref' }, n))
              : h('span', { class: 'bsp-muted' }, _('<none>')),
          ),
          td(_('ID'), {}, h('span', { class: 'bsp-mono', title: image.id }, shortId(image.id))),
          td(_('Size'), { class: 'bsp-nowrap' }, formatBytes(image.size)),
          td(
            _('Created'),
            { class: 'bsp-nowrap' },
            h(
              'span',
              { title: image.created ? new Date(image.created * 1000).toLocaleString() : '' },
              formatAge(image.created, now),
            ),
          ),
          td(
            _('Used by'),
            {},
            uses.length
              ? h(
                  'ul',
                  { class: 'bsp-usage' },
                  uses.map((u) => h('li', {}, this.usageText(u))),
                )
              : h('span', { class: 'bsp-muted' }, '—'),
          ),
          tdAction(remove),
        ),
      );
    }
    const total = this.images.reduce((sum, i) => sum + i.size, 0);
    fill(
      this.imagesBody,
      h(
        'p',
        { class: 'bsp-muted bsp-summary', id: 'images-summary' },
        `${this.images.length} ${this.images.length === 1 ? _('image') : _('images')}, ${formatBytes(total)}`,
      ),
      table(
        _('Images'),
        [
          { title: _('Image'), class: 'pf-m-width-30' },
          { title: _('ID') },
          { title: _('Size') },
          { title: _('Created') },
          { title: _('Used by'), class: 'pf-m-width-25' },
          { title: _('Actions'), class: 'pf-v6-c-table__action', screenReaderOnly: true },
        ],
        body,
      ),
    );
  }

  private renderGc(): void {
    const preview = this.gcPreview;
    if (!preview) {
      fill(
        this.gcBody,
        h(
          'p',
          { class: 'bsp-muted' },
          _('Preview lists what a garbage collection removes, and why every other image stays.'),
        ),
      );
      return;
    }
    const byId = new Map(this.images.map((i) => [i.id, i]));
    const removed = preview.filter((p) => !p.kept);
    const body = tbody();
    const sorted = [...preview].sort((a, b) => Number(a.kept) - Number(b.kept) || a.id.localeCompare(b.id));
    for (const p of sorted) {
      const image = byId.get(p.id);
      body.append(
        tr(
          { 'data-id': p.id, 'data-kept': String(p.kept) },
          td(
            _('Image'),
            { class: 'bsp-break' },
            image?.names.length
              ? image.names.map((n) => h('div', { class: 'bsp-ref' }, n))
              : h('span', { class: 'bsp-mono' }, shortId(p.id)),
          ),
          td(
            _('Outcome'),
            {},
            p.kept ? label(_('Keep'), 'green', {}, true) : label(_('Remove'), 'red', {}, true),
          ),
          td(_('Reason'), { class: 'bsp-break' }, this.reasonText(p.reason)),
        ),
      );
    }
    fill(
      this.gcBody,
      h(
        'p',
        { class: 'bsp-summary', id: 'gc-summary' },
        removed.length === 0
          ? _('Nothing to remove: every image is needed by a deployment.')
          : `${_('Garbage collection removes')} ${removed.length} ${
              removed.length === 1 ? _('image') : _('images')
            } (${formatBytes(removed.reduce((sum, p) => sum + (byId.get(p.id)?.size ?? 0), 0))}) ${_('and keeps')} ${
              preview.length - removed.length
            }.`,
      ),
      table(
        _('Garbage collection preview'),
        [
          { title: _('Image'), class: 'pf-m-width-40' },
          { title: _('Outcome'), class: 'pf-m-width-15' },
          { title: _('Reason') },
        ],
        body,
      ),
    );
  }

  /** A preview reason, one line per deployment that needs the image, with checksums shortened. */
  private reasonText(reason: string): Child {
    const line = (text: string) =>
      text
        .split(/([0-9a-f]{64}\.\d+)/)
        .map((part, i) =>
          i % 2 === 1 ? h('span', { class: 'bsp-mono', title: part }, shortDeployment(part)) : part,
        );
    return h(
      'ul',
      { class: 'bsp-usage' },
      splitReasons(reason).map((r) => h('li', {}, line(r))),
    );
  }

  private renderJobs(): void {
    const jobs = this.storage.jobs.list();
    this.jobsEmpty.hidden = jobs.length > 0;
    this.jobsTable.hidden = jobs.length === 0;
    const seen = new Set<string>();
    let before: ChildNode | null = this.jobsTbody.firstChild;
    for (const job of jobs) {
      seen.add(job.path);
      let row = this.jobRows.get(job.path);
      if (!row) {
        row = this.jobRow(job);
        this.jobRows.set(job.path, row);
      }
      this.updateJobRow(row, job);
      if (row !== before) this.jobsTbody.insertBefore(row, before);
      before = row.nextSibling;
    }
    for (const [path, row] of this.jobRows) {
      if (!seen.has(path)) {
        row.remove();
        this.jobRows.delete(path);
      }
    }
    this.renderDeployments();
  }

  private jobRow(job: Job): HTMLTableRowElement {
    const id = `job-${job.id}`;
    const cancel = button(_('Cancel'), 'secondary', () => {
      const current = this.storage.jobs.get(job.path);
      if (current) void this.cancelJob(cancel, current);
    });
    cancel.setAttribute('data-action', 'cancel');
    return tr(
      { 'data-job': String(job.id), 'data-path': job.path, id },
      td(
        _('Job'),
        { class: 'bsp-break' },
        h('div', { class: 'bsp-job-title' }),
        h('div', { class: 'bsp-muted bsp-job-id' }, `#${job.id}`),
      ),
      td(_('State'), { class: 'bsp-job-state' }),
      td(_('Progress'), { class: 'bsp-job-progress' }, progress(`${id}-progress`, _('Progress'))),
      tdAction(cancel),
    );
  }

  private updateJobRow(row: HTMLTableRowElement, job: Job): void {
    row.setAttribute('data-state', job.state);
    row.querySelector('.bsp-job-title')!.textContent = jobTitle(job);
    const state = row.querySelector('.bsp-job-state')!;
    if (state.getAttribute('data-state') !== job.state) {
      state.setAttribute('data-state', job.state);
      fill(state, label(stateWord(job.state), STATE_COLORS[job.state] ?? 'grey', {}, true));
    }
    const status: ProgressStatus =
      job.state === 'done'
        ? 'success'
        : job.state === 'failed'
          ? 'danger'
          : job.state === 'canceled'
            ? 'warning'
            : 'running';
    const percent =
      isFinal(job) && job.state !== 'done' ? Math.max(0, jobPercent(job) ?? 0) : jobPercent(job);
    setProgress(
      row.querySelector<HTMLElement>('.pf-v6-c-progress')!,
      job.state === 'queued' ? undefined : percent,
      status,
      jobDetail(job) || (job.state === 'queued' ? _('Waiting for other jobs') : ''),
    );
    const cancel = row.querySelector<HTMLButtonElement>('[data-action="cancel"]')!;
    cancel.hidden = !cancelable(job);
  }
}
