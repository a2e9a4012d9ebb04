import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import History from '../src/lib/views/History.svelte';
import type { JobFilter } from '../src/lib/model';
import { backend, fire, folder, job, page, renderView } from './helpers';

const jobs = [
  job(12, { folder: 'docs', status: 'running', ended_at: null, trigger_type: 'watch' }),
  job(11, { folder: 'photos', status: 'failed', job_type: 'force_push', error_message: 'remote unreachable' }),
  job(10, {
    folder: 'docs',
    stats: { ...job(10).stats, files_uploaded: 31, files_downloaded: 17, files_deleted: 4, conflicts: 2, duration_ms: 65_000 },
  }),
];

function row(id: number) {
  return within(screen.getByTestId(`job-${id}`));
}

describe('History', () => {
  it('offers a folder added elsewhere in its folder filter at once', async () => {
    const b = backend({ list_jobs: page(jobs), list_folders: [folder('docs')] });
    renderView(History);
    const menu = await screen.findByLabelText('Folder');
    await waitFor(() => expect(within(menu).getByRole('option', { name: 'docs' })).toBeInTheDocument());
    expect(within(menu).queryByRole('option', { name: 'music' })).not.toBeInTheDocument();
    b.set('list_folders', [folder('docs'), folder('music')]);
    await fire('folderRemoved', 'old');
    expect(await within(menu).findByRole('option', { name: 'music' })).toBeInTheDocument();
  });

  it('renders a page of jobs with their columns', async () => {
    const b = backend({ list_jobs: page(jobs, { total: 45, total_pages: 3 }), list_folders: [folder('docs'), folder('photos')] });
    renderView(History);
    await screen.findByTestId('job-10');
    expect(b.last('list_jobs')).toEqual({
      filter: { status: null, folder: null, job_type: null, trigger_type: null, page: 1, page_size: 20 },
    });
    const r = screen.getByTestId('job-10');
    expect(r).toHaveTextContent('docs');
    expect(r).toHaveTextContent('Sync');
    expect(r).toHaveTextContent('Manual');
    expect(r).toHaveTextContent('Succeeded');
    expect(r).toHaveTextContent('1 min 5 s');
    const cells = within(r).getAllByRole('cell').map((c) => c.textContent?.trim());
    expect(cells.slice(6, 10)).toEqual(['31', '17', '4', '2']);
    expect(row(11).getByText('Force push')).toBeInTheDocument();
    expect(row(11).getByText('Failed')).toBeInTheDocument();
    expect(row(12).getByText('File change')).toBeInTheDocument();
    expect(row(12).getByText('Running')).toBeInTheDocument();
    expect(screen.getByText('Page 1 of 3 (45 jobs)')).toBeInTheDocument();
  });

  it('shows a gateway job and filters by it', async () => {
    const b = backend({
      list_jobs: page([job(20, { folder: 'site', job_type: 'gateway', trigger_type: 'gateway' })]),
      list_folders: [folder('site')],
    });
    renderView(History);
    await screen.findByTestId('job-20');
    expect(row(20).getByText('Gateway change')).toBeInTheDocument();
    expect(row(20).getByText('Gateway')).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText('Type'), 'Gateway change');
    await waitFor(() => expect(b.last('list_jobs')?.filter).toMatchObject({ job_type: 'gateway', page: 1 }));
  });

  it('shows an empty state', async () => {
    backend({ list_jobs: page([]), list_folders: [] });
    renderView(History);
    expect(await screen.findByText('No jobs match.')).toBeInTheDocument();
  });

  it('shows an error state', async () => {
    backend({
      list_jobs: () => {
        throw { code: 'invalid_request', message: 'page_size must be 1 to 200' };
      },
      list_folders: [],
    });
    renderView(History);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('That request was not accepted');
    expect(alert).toHaveTextContent('page_size must be 1 to 200');
  });

  it('sends the filters to list_jobs and starts again at page 1', async () => {
    const b = backend({
      list_jobs: (a: { filter: JobFilter }) => page(jobs, { page: a.filter.page, total: 45, total_pages: 3 }),
      list_folders: [folder('docs'), folder('photos')],
    });
    renderView(History);
    await screen.findByTestId('job-10');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(b.last('list_jobs')?.filter.page).toBe(2));

    await userEvent.selectOptions(screen.getByLabelText('Status'), 'Failed');
    await waitFor(() => expect(b.last('list_jobs')?.filter).toMatchObject({ status: 'failed', page: 1 }));
    await userEvent.selectOptions(await screen.findByLabelText('Folder'), 'photos');
    await waitFor(() => expect(b.last('list_jobs')?.filter).toMatchObject({ status: 'failed', folder: 'photos' }));
    await userEvent.selectOptions(screen.getByLabelText('Type'), 'Force pull');
    await userEvent.selectOptions(screen.getByLabelText('Trigger'), 'Schedule');
    await waitFor(() =>
      expect(b.last('list_jobs')?.filter).toEqual({
        status: 'failed',
        folder: 'photos',
        job_type: 'force_pull',
        trigger_type: 'schedule',
        page: 1,
        page_size: 20,
      }),
    );
    await userEvent.selectOptions(screen.getByLabelText('Status'), 'All');
    await waitFor(() => expect(b.last('list_jobs')?.filter.status).toBeNull());
  });

  it('pages with Previous / Next within PageMeta', async () => {
    const b = backend({
      list_jobs: (a: { filter: JobFilter }) =>
        page([job(100 - a.filter.page)], { page: a.filter.page, page_size: 1, total: 2, total_pages: 2 }),
      list_folders: [],
    });
    renderView(History, { pageSize: 1 });
    await screen.findByTestId('job-99');
    expect(screen.getByRole('button', { name: 'Previous' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByTestId('job-98')).toBeInTheDocument();
    expect(screen.queryByTestId('job-99')).not.toBeInTheDocument();
    expect(screen.getByText('Page 2 of 2 (2 jobs)')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next' })).toBeDisabled();
    expect(b.args('list_jobs').map((a) => a.filter.page_size)).toEqual([1, 1]);
    await userEvent.click(screen.getByRole('button', { name: 'Previous' }));
    expect(await screen.findByTestId('job-99')).toBeInTheDocument();
  });

  it("shows a job's detail: stats, metadata, error and log lines", async () => {
    const b = backend({
      list_jobs: page(jobs),
      list_folders: [],
      get_job: {
        job: jobs[1],
        log: [
          { at: '2026-01-01T10:00:00.100Z', level: 'warn', msg: 'conflict: notes.md kept both versions' },
          { at: '2026-01-01T10:00:00.200Z', level: 'error', msg: 'upload failed: connection reset' },
        ],
      },
    });
    renderView(History);
    await userEvent.click(await screen.findByRole('button', { name: 'Details of job 11' }));
    const detail = within(await screen.findByRole('region', { name: 'Job 11' }));
    const log = await detail.findByRole('list', { name: 'Log' });
    expect(within(log).getAllByRole('listitem')).toHaveLength(2);
    expect(log).toHaveTextContent('conflict: notes.md kept both versions');
    expect(log).toHaveTextContent('Warning');
    expect(log).toHaveTextContent('upload failed: connection reset');
    expect(detail.getByRole('alert')).toHaveTextContent('remote unreachable');
    expect(detail.getByText('syncdesk-desktop')).toBeInTheDocument();
    expect(detail.getByText('100')).toBeInTheDocument();
    expect(b.last('get_job')).toEqual({ id: 11 });
    expect(b.count('get_job')).toBe(1);
    // A change of the open job reloads its detail (its log may have grown).
    b.set('get_job', { job: { ...jobs[1], status: 'succeeded' }, log: [] });
    await fire('jobChanged', { ...jobs[1], status: 'succeeded' });
    expect(await detail.findByText('This job wrote no log lines.')).toBeInTheDocument();
    expect(b.count('get_job')).toBe(2);
    await userEvent.click(detail.getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('region', { name: 'Job 11' })).not.toBeInTheDocument();
  });

  it('shows a failing get_job as an error in the detail', async () => {
    backend({
      list_jobs: page(jobs),
      list_folders: [],
      get_job: () => {
        throw { code: 'not_found', message: 'no job 12' };
      },
    });
    renderView(History);
    await userEvent.click(await screen.findByRole('button', { name: 'Details of job 12' }));
    const detail = within(await screen.findByRole('region', { name: 'Job 12' }));
    expect(await detail.findByRole('alert')).toHaveTextContent('Not found');
  });

  it('updates a row from jobChanged and adds new jobs on page 1, without reloading', async () => {
    const b = backend({ list_jobs: page(jobs), list_folders: [] });
    renderView(History);
    await screen.findByTestId('job-12');
    await fire('jobChanged', job(12, { status: 'succeeded', trigger_type: 'watch' }));
    await waitFor(() => expect(row(12).getByText('Succeeded')).toBeInTheDocument());
    expect(row(12).queryByText('Running')).not.toBeInTheDocument();

    await fire('jobChanged', job(13, { status: 'pending', folder: 'music', ended_at: null }));
    await screen.findByTestId('job-13');
    const ids = screen.getAllByTestId(/^job-/).map((r) => r.dataset.testid);
    expect(ids).toEqual(['job-13', 'job-12', 'job-11', 'job-10']);
    expect(screen.getByText('Page 1 of 1 (4 jobs)')).toBeInTheDocument();
    expect(b.count('list_jobs')).toBe(1);
  });

  it('leaves out new jobs that do not match the filter', async () => {
    const b = backend({ list_jobs: page([jobs[1]]), list_folders: [] });
    renderView(History);
    await screen.findByTestId('job-11');
    await userEvent.selectOptions(screen.getByLabelText('Status'), 'Failed');
    await waitFor(() => expect(b.count('list_jobs')).toBe(2));
    await fire('jobChanged', job(14, { status: 'succeeded' }));
    await fire('jobChanged', job(15, { status: 'failed' }));
    await screen.findByTestId('job-15');
    expect(screen.queryByTestId('job-14')).not.toBeInTheDocument();
  });
});
