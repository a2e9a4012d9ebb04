import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/svelte';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach } from 'vitest';

// Unmount first (views stop listening through the still-mocked IPC), then drop the mocks.
afterEach(() => {
  cleanup();
  clearMocks();
});
