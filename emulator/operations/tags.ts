/** Tags of any taggable resource (AppInstance, AppInstanceUser, AppInstanceBot). */
import { limitExceeded } from '../errors';
import { mergeTags } from '../records';
import type { Operations } from './common';

export const TAG_OPERATIONS: Operations<'TagResource' | 'UntagResource' | 'ListTagsForResource'> = {
  TagResource: (store, input) => {
    const resource = store.requireTaggable(input.ResourceARN);
    const merged = mergeTags(resource.tags, input.Tags);
    const { tagsPerResource } = store.limits;
    if (merged.length > tagsPerResource) {
      throw limitExceeded(`a resource can have at most ${tagsPerResource} tags`);
    }
    resource.tags = merged;
    return undefined;
  },
  UntagResource: (store, input) => {
    const resource = store.requireTaggable(input.ResourceARN);
    const removed = new Set(input.TagKeys);
    resource.tags = resource.tags.filter((tag) => !removed.has(tag.Key));
    return undefined;
  },
  ListTagsForResource: (store, input) => ({ Tags: store.requireTaggable(input.ResourceARN).tags }),
};
