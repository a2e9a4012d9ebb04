// The engine's types, in one place for the views: all of them come from the files ts-rs
// generates into ./types/ (`cargo test -p syncdesk-engine`); never edit those by hand.
export type { ApiError } from './types/ApiError';
export type { AppState } from './types/AppState';
export type { CheckReport } from './types/CheckReport';
export type { EventName } from './types/EventName';
export type { Event } from './types/Event';
export type { FileInfo } from './types/FileInfo';
export type { Folder } from './types/Folder';
export type { FolderInfo } from './types/FolderInfo';
export type { FolderSettings } from './types/FolderSettings';
export type { JobDetail } from './types/JobDetail';
export type { JobFilter } from './types/JobFilter';
export type { JobLogLine } from './types/JobLogLine';
export type { JobStatus } from './types/JobStatus';
export type { JobType } from './types/JobType';
export type { LogLevel } from './types/LogLevel';
export type { PageMeta } from './types/PageMeta';
export type { PerformSyncRequest } from './types/PerformSyncRequest';
export type { PerformSyncStarted } from './types/PerformSyncStarted';
export type { Phase } from './types/Phase';
export type { Progress } from './types/Progress';
export type { PushMode } from './types/PushMode';
export type { RestoreReport } from './types/RestoreReport';
export type { SnapshotInfo } from './types/SnapshotInfo';
export type { SyncEvent } from './types/SyncEvent';
export type { SyncInfo } from './types/SyncInfo';
export type { SyncJob } from './types/SyncJob';
export type { SyncJobPage } from './types/SyncJobPage';
export type { SyncJobStats } from './types/SyncJobStats';
export type { SyncMode } from './types/SyncMode';
export type { SyncPreview } from './types/SyncPreview';
export type { TrashItem } from './types/TrashItem';
export type { TriggerType } from './types/TriggerType';

