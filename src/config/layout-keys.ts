/**
 * Which attributes each stanza may carry: the ones Drawbridge uses, and the
 * ones Zuul knows but Drawbridge ignores (a warning, so a Zuul layout still
 * loads). Anything else is a typo and an error.
 */
const set = (...keys: string[]): ReadonlySet<string> => new Set(keys);

export const STANZA_TYPES = set('job', 'project', 'project-template', 'pipeline', 'semaphore');
export const ZUUL_ONLY_STANZAS = set(
  'nodeset',
  'secret',
  'queue',
  'pragma',
  'global-semaphore',
  'image',
  'flavor',
  'label',
  'section',
  'provider',
);

export const JOB_KEYS = set(
  'name',
  'parent',
  'description',
  'abstract',
  'final',
  'run',
  'vars',
  'dependencies',
  'files',
  'irrelevant-files',
  'semaphore',
  'semaphores',
  'timeout',
  'attempts',
);

export const JOB_ZUUL_ONLY = set(
  'protected',
  'intermediate',
  'success-message',
  'failure-message',
  'success-url',
  'failure-url',
  'hold-following-changes',
  'voting',
  'tags',
  'provides',
  'requires',
  'secrets',
  'nodeset',
  'override-checkout',
  'override-branch',
  'post-timeout',
  'pre-run',
  'post-run',
  'cleanup-run',
  'ansible-split-streams',
  'ansible-version',
  'roles',
  'required-projects',
  'extra-vars',
  'host-vars',
  'group-vars',
  'include-vars',
  'allowed-projects',
  'post-review',
  'branches',
  'match-on-config-updates',
  'deduplicate',
  'failure-output',
  'workspace-scheme',
  'workspace-checkout',
  'attribute-control',
  'image-build-name',
);

/** A job listed in a project pipeline may adjust these. */
export const VARIANT_KEYS = set(
  'description',
  'run',
  'vars',
  'dependencies',
  'files',
  'irrelevant-files',
  'semaphore',
  'semaphores',
  'timeout',
  'attempts',
);
/** Job attributes that name or shape the job itself, not one use of it. */
export const JOB_IDENTITY_KEYS = set('name', 'parent', 'abstract', 'final');

/** Attributes a variant of a final job may still set: they decide when the job runs, not what it does. */
export const FINAL_SAFE_KEYS = set('description', 'dependencies', 'files', 'irrelevant-files');

export const PIPELINE_KEYS = set(
  'name',
  'manager',
  'precedence',
  'description',
  'trigger',
  // Drawbridge's own: semaphores every buildset of the pipeline holds from checkout to its end.
  'semaphore',
  'semaphores',
);
export const PIPELINE_ZUUL_ONLY = set(
  'post-review',
  'supercedes',
  'require',
  'reject',
  'enqueue',
  'start',
  'success',
  'failure',
  'merge-conflict',
  'merge-failure',
  'no-jobs',
  'disabled',
  'dequeue',
  'config-error',
  'disable-after-consecutive-failures',
  'allow-other-connections',
  'dequeue-on-new-patchset',
  'ignore-dependencies',
  'success-message',
  'failure-message',
  'start-message',
  'enqueue-message',
  'merge-conflict-message',
  'merge-failure-message',
  'no-jobs-message',
  'dequeue-message',
  'footer-message',
  'report-empty',
  'window',
  'window-floor',
  'window-ceiling',
  'window-increase-type',
  'window-increase-factor',
  'window-decrease-type',
  'window-decrease-factor',
);
export const MANAGERS = ['serial', 'supercedent', 'independent'] as const;
export const PRECEDENCES = ['high', 'normal', 'low'] as const;

export const PROJECT_KEYS = set('name', 'templates', 'vars', 'description');
export const PROJECT_ZUUL_ONLY = set('queue', 'default-branch', 'merge-mode');
export const TEMPLATE_KEYS = set('name', 'description');
export const TEMPLATE_ZUUL_ONLY = set('queue', 'vars');
export const PROJECT_PIPELINE_KEYS = set('jobs');
export const PROJECT_PIPELINE_ZUUL_ONLY = set('queue', 'debug', 'fail-fast');

export const SEMAPHORE_KEYS = set('name', 'max');

export const DEPENDENCY_KEYS = set('name', 'soft');
export const TIMER_KEYS = set('time');
export const GIT_TRIGGER_KEYS = set('event', 'ref');
/** Events of Zuul's code-review drivers that mean "the branch moved". */
export const REF_UPDATE_EVENTS = set('ref-updated', 'change-merged', 'push');
